"""The API's listening socket, bound before anything is made that a failed start would lose.

``wfa serve`` shows a new admin key once; when WFA_PORT is taken, the start must fail before
that key exists, not after it was printed and stored. Binding first (rather than probing and
binding later) leaves no window for another process to take the port in between.
"""

from __future__ import annotations

import socket

from wfa.entrypoints.config import ConfigError


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn to serve on; ConfigError naming the address
    and WFA_PORT when it cannot be bound."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
    except OSError as error:
        raise ConfigError(f"WFA_HOST: cannot listen on {host}:{port}: {_reason(error)}") from None
    try:
        # As uvicorn does: a restart may bind while the old connections are in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as error:
        listener.close()
        raise ConfigError(
            f"WFA_PORT: cannot listen on {host}:{port}: {_reason(error)}"
            " (another process may hold it; choose another port with WFA_PORT)"
        ) from None
    listener.set_inheritable(True)
    return listener


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
