"""A stored workflow: one version of a definition under a stable id."""

from __future__ import annotations

from datetime import datetime

import msgspec

from wfa.domain.definition import Definition, EventTrigger, WebhookTrigger


class Workflow(msgspec.Struct, frozen=True, kw_only=True):
    """Versions count from 1; a run keeps the version it started on."""

    id: str
    version: int
    definition: Definition
    created_at: datetime

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def webhook_paths(self) -> frozenset[str]:
        """The paths of its webhook triggers: ``POST /hooks/{path}`` starts this workflow."""
        return frozenset(t.path for t in self.definition.triggers if isinstance(t, WebhookTrigger))

    @property
    def event_names(self) -> frozenset[str]:
        """The names of its event triggers: a published event of one of them may start it."""
        return frozenset(t.name for t in self.definition.triggers if isinstance(t, EventTrigger))
