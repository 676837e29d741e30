"""Every adapter of a port behind one fixture, so each contract suite runs against them all."""

from __future__ import annotations

import pytest

from wfa.adapters.persistence.memory import MemoryStore
from wfa.application.ports.repositories import UnitOfWorkFactory

UOW_ADAPTERS = ["memory"]


@pytest.fixture(params=UOW_ADAPTERS)
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return MemoryStore().unit_of_work
    raise AssertionError(f"unknown adapter {request.param}")
