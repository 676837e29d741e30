"""Shared test configuration: hypothesis profiles and access to real services."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def service_url(variable: str) -> str:
    """The URL of a service a test needs; skip without it, unless services are required."""
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("WFA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{variable} is not set, and WFA_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{variable} is not set")
