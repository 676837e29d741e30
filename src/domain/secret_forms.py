"""Every form in which a secret can leave the engine, so redaction recognises each of them.

An action may send a secret as it is or encoded — in a URL path or query, a JSON or form
body, a Basic auth header — and a server may echo any of those back into the action's
output or an error. Redaction replaces all of these forms, found here with the standard
library alone:

- URL encodings: ``quote`` with nothing safe, with ``/`` safe, and with the WHATWG URL
  standard's path, query, fragment and userinfo sets (what httpx, following it, leaves as it
  is in a URL written whole); ``quote_plus`` (query parameters and form bodies); each with
  upper- and lower-case hex.
- JSON string escaping: ASCII-only (``\\u00e9``) and not, ``\\/`` for ``/``, upper-case hex.
- the UTF-8 bytes read as Latin-1: how a server reads a non-ASCII header value back.
- base64 (standard and URL-safe) of the value inside a longer text (``user:secret`` of
  Basic auth): the characters that the value alone decides, at each of the three offsets it
  can start at; only when that is long enough not to match unrelated text.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus


def _printable_but(excluded: str) -> str:
    return "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) not in excluded)


# The WHATWG percent-encode sets, as what stays: fragment, query, path, userinfo. httpx
# encodes a URL given whole with these (checked by tests against httpx itself).
_FRAGMENT = ' "<>`'
_QUERY = ' "#<>'
_PATH = _QUERY + "?`{}"
_USERINFO = _PATH + "/:;=@[\\]^|"
_URL_SAFE = tuple(_printable_but(encoded) for encoded in (_FRAGMENT, _QUERY, _PATH, _USERINFO))
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_JSON_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")
MIN_BASE64_CORE = 8  # characters; shorter cores would match unrelated base64


def secret_forms(value: str) -> set[str]:
    """The value and every encoded form of it that an action can send or receive."""
    forms = {value}
    for safe in ("", "/", *_URL_SAFE):
        forms.add(quote(value, safe=safe))
    forms |= {quote_plus(value), quote_plus(value, safe="/")}
    forms |= {_HEX_ESCAPE.sub(lambda hexes: hexes.group().lower(), form) for form in forms}
    for ascii_only in (True, False):
        escaped = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        forms |= {escaped, escaped.replace("/", "\\/")}
        upper = _JSON_ESCAPE.sub(lambda hexes: "\\u" + hexes.group()[2:].upper(), escaped)
        forms |= {upper, upper.replace("/", "\\/")}
    raw = value.encode("utf-8", "surrogatepass")
    # Headers go out as UTF-8 bytes and HTTP servers read them back as Latin-1.
    forms.add(raw.decode("latin-1"))
    forms |= _base64_cores(raw)
    forms.discard("")
    return forms


def _base64_cores(raw: bytes) -> set[str]:
    cores: set[str] = set()
    for offset in range(3):
        padded = b"\0" * offset + raw
        whole_groups = len(padded) // 3  # a last, partial group depends on what follows
        first_known = 0 if offset == 0 else 1  # a group shared with what precedes is unknown
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = encode(padded[: whole_groups * 3]).decode("ascii")[first_known * 4 :]
            if len(core) >= MIN_BASE64_CORE:
                cores.add(core)
    return cores
