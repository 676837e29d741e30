"""Notices go out through http.request: the same address guard (WFA_HTTP_ALLOW), pinned
connections, timeouts and response limits as a workflow's own calls."""

from __future__ import annotations

from typing import Any

from wfa.adapters.actions.http.action import HttpRequest
from wfa.application.ports.actions import ActionContext, ActionError
from wfa.application.ports.notices import DeliveryFailed

TIMEOUT = 10.0


class HttpNoticePoster:
    def __init__(self, http: HttpRequest) -> None:
        self._http = http

    async def post(self, url: str, body: str, headers: dict[str, str], key: str) -> None:
        params: dict[str, Any] = {
            "method": "POST",
            "url": url,
            "content": body,
            "headers": headers,
            "timeout": TIMEOUT,
            "follow_redirects": False,  # a notice goes where it was told, not elsewhere
        }
        # The context names the notice, so its Idempotency-Key is the same on every try.
        context = ActionContext(
            run_id=key, workflow_id="", step_id="notice", attempt=1, try_number=1
        )
        try:
            await self._http(params, context)
        except ActionError as error:
            raise DeliveryFailed(
                str(error), retryable=error.retryable, retry_after=error.retry_after
            ) from None
