"""A stored workflow: one version of a definition under a stable id."""

from __future__ import annotations

from datetime import datetime

import msgspec

from wfa.domain.definition import Definition


class Workflow(msgspec.Struct, frozen=True, kw_only=True):
    """Versions count from 1; a run keeps the version it started on."""

    id: str
    version: int
    definition: Definition
    created_at: datetime

    @property
    def name(self) -> str:
        return self.definition.name
