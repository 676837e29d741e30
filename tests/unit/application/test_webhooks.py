"""Webhook paths through the workflow use cases: one owner, following versions and deletion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.application.conftest import task
from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.clock import FakeClock, SeededEntropy
from wfa.application.errors import NotFound, WebhookPathTaken
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.use_cases.workflows import DeleteWorkflow, RegisterWorkflow, UpdateWorkflow
from wfa.domain.workflow import Workflow


def hooked(name: str, *paths: str) -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "webhook", "path": path} for path in paths],
        "steps": [task("a")],
    }


class FindWebhook:
    """The workflow a path starts, as ReceiveWebhook looks it up."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, path: str) -> Workflow:
        async with self._uow() as uow:
            workflow = await uow.workflows.by_webhook(path)
        if workflow is None:
            raise NotFound("webhook", path)
        return workflow


@pytest.fixture
def use_cases(uow_factory):
    actions, clock = default_registry(), FakeClock()
    return (
        RegisterWorkflow(uow_factory, actions, clock, SeededEntropy(1)),
        UpdateWorkflow(uow_factory, actions, clock),
        DeleteWorkflow(uow_factory),
        FindWebhook(uow_factory),
    )


async def test_a_path_follows_its_workflow_from_version_to_version(use_cases):
    register, update, _, find = use_cases
    orders = await register.execute(hooked("orders", "orders", "shop/orders"))
    assert await find.execute("shop/orders") == orders
    v2 = await update.execute(orders.id, hooked("orders", "orders"))
    assert await find.execute("orders") == v2
    with pytest.raises(NotFound) as gone:
        await find.execute("shop/orders")
    assert (gone.value.kind, gone.value.ident) == ("webhook", "shop/orders")


async def test_registering_or_updating_onto_a_taken_path_is_refused(use_cases):
    register, update, _, find = use_cases
    orders = await register.execute(hooked("orders", "orders"))
    with pytest.raises(WebhookPathTaken) as taken:
        await register.execute(hooked("copy", "orders"))
    assert (taken.value.path, taken.value.workflow_id) == ("orders", orders.id)
    invoices = await register.execute(hooked("invoices", "invoices"))
    with pytest.raises(WebhookPathTaken):
        await update.execute(invoices.id, hooked("invoices", "invoices", "orders"))
    assert (await find.execute("orders")).id == orders.id
    assert (await find.execute("invoices")).version == 1


async def test_a_deleted_workflow_gives_its_paths_up(use_cases):
    register, _, delete, find = use_cases
    orders = await register.execute(hooked("orders", "orders"))
    await delete.execute(orders.id)
    with pytest.raises(NotFound):
        await find.execute("orders")
    successor = await register.execute(hooked("orders-v2", "orders"))
    assert await find.execute("orders") == successor
