"""Webhooks in memory: which live workflow owns each path, and the deliveries seen lately.

A path has one owner. A new version's paths replace its workflow's old ones; a deleted
workflow's paths are free again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from wfa.application.errors import ReplayedWebhook, WebhookPathTaken
from wfa.domain.workflow import Workflow


def routes_after(
    routes: Mapping[str, str],
    added: Iterable[Workflow],
    deleted: set[str],
    *,
    strict: bool = True,
) -> dict[str, str]:
    """The routes once ``added`` versions and ``deleted`` workflows are applied to ``routes``.

    Raises WebhookPathTaken when a version claims another workflow's path; with
    ``strict=False`` (for reads) the path stays with its owner instead. Deletion wins over a
    version added in the same transaction, as it does for the workflows themselves.
    """
    result = {path: owner for path, owner in routes.items() if owner not in deleted}
    for workflow in added:
        if workflow.id in deleted:
            continue
        claimed = workflow.webhook_paths
        for path, owner in list(result.items()):
            if owner == workflow.id and path not in claimed:
                del result[path]
        for path in sorted(claimed):
            owner = result.setdefault(path, workflow.id)
            if owner != workflow.id and strict:
                raise WebhookPathTaken(path, owner)
    return result


class MemoryWebhookDeliveries:
    """Claims staged in the unit of work; ``check_claims`` refuses at commit a claim that
    another unit of work committed first, as the SQL primary key does."""

    def __init__(
        self, stored: dict[str, datetime], staged: dict[str, tuple[datetime, datetime]]
    ) -> None:
        self._stored, self.staged = stored, staged

    async def claim(self, claims: Sequence[str], remember_until: datetime, now: datetime) -> bool:
        for claim, expiry in list(self._stored.items()):
            if expiry <= now:
                del self._stored[claim]
        for claim in claims:
            staged = self.staged.get(claim)
            until: datetime | None = self._stored.get(claim) if staged is None else staged[0]
            if until is not None and until > now:
                return False
        for claim in claims:
            self.staged[claim] = (remember_until, now)
        return True


def check_claims(
    stored: Mapping[str, datetime], staged: Mapping[str, tuple[datetime, datetime]]
) -> None:
    for claim, (_, now) in staged.items():
        until = stored.get(claim)
        if until is not None and until > now:
            raise ReplayedWebhook()


def apply_claims(
    stored: dict[str, datetime], staged: Mapping[str, tuple[datetime, datetime]]
) -> None:
    stored.update({claim: until for claim, (until, _) in staged.items()})
