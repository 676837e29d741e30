"""``http.request``: HTTP calls from workflows, with an SSRF guard and a capped response."""

from wfa.adapters.actions.http.action import DEFAULT_MAX_RESPONSE_BYTES, HttpRequest, HttpSettings

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "HttpRequest", "HttpSettings"]
