"""Webhook routes in memory: which live workflow owns each path, as the route table holds.

A path has one owner. A new version's paths replace its workflow's old ones; a deleted
workflow's paths are free again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wfa.application.errors import WebhookPathTaken
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
