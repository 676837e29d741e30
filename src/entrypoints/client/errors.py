"""What the client raises: the server answered with a problem, or could not be reached."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Anything the client raises on purpose."""


class ServerUnreachable(ClientError):
    """No answer from the server at ``url`` (refused, unknown host, timed out...)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the server at {url}: {reason}")
        self.url = url
        self.reason = reason


class ApiError(ClientError):
    """An RFC 9457 problem the API answered with: ``status``, ``title``, ``detail`` and,
    when the server sent them, ``code`` and ``errors``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        code: str | None = None,
        errors: list[Any] | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(detail or title or f"HTTP {status}")
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.errors = errors or []
        self.method = method
        self.path = path

    @property
    def problems(self) -> list[str]:
        """Each problem the server listed (an invalid definition's, with their paths)."""
        found: list[str] = []
        for item in self.errors:
            if isinstance(item, dict):
                where = item.get("key") or item.get("path") or ""
                message = item.get("message") or ""
                found.append(f"{where}: {message}" if where else str(message))
            else:
                found.append(str(item))
        return found
