"""What the client raises: the server answered with a problem, answered something that is
not the wfa API, could not be reached, or its URL is not one."""

from __future__ import annotations

from typing import NamedTuple


class ClientError(Exception):
    """Anything the client raises on purpose."""


class InvalidServerUrl(ClientError):
    """The URL the client was given (``WFA_URL``) is not an http(s) URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url!r} is not a URL: {reason}")
        self.url = url
        self.reason = reason


class ServerUnreachable(ClientError):
    """No answer from the server at ``url`` (refused, unknown host, timed out...)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the server at {url}: {reason}")
        self.url = url
        self.reason = reason


class UnexpectedAnswer(ClientError):
    """The server at ``url`` answered, but not as the wfa API does: a redirect (an http to
    https proxy), or a body that is not the API's JSON. ``what`` says what came back."""

    def __init__(self, url: str, status: int, what: str) -> None:
        super().__init__(f"the server at {url} answered something that is not the wfa API ({what})")
        self.url = url
        self.status = status
        self.what = what


class ProblemItem(NamedTuple):
    """One problem the server listed, at its ``path`` (``steps[0].action``, ``path.name``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ApiError(ClientError):
    """An RFC 9457 problem the API answered with: ``status``, ``title``, ``detail`` and,
    when the server sent them, its ``code`` and its ``problems`` (each a path and a message)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        code: str | None = None,
        problems: list[ProblemItem] | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(detail or title or f"HTTP {status}")
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.problems = problems or []
        self.method = method
        self.path = path
