"""Find the workflow that a webhook path starts."""

from __future__ import annotations

from wfa.application.errors import NotFound
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.domain.workflow import Workflow


class FindWebhookWorkflow:
    """The latest version of the live workflow that owns ``POST /hooks/{path}``."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, path: str) -> Workflow:
        async with self._uow() as uow:
            workflow = await uow.workflows.by_webhook(path)
        if workflow is None:
            raise NotFound("webhook", path)
        return workflow
