"""Which key seals secrets here: WFA_SECRET_KEY, else the key file of the embedded database.

* ``WFA_SECRET_KEY`` set: its keys (the first seals, all open); the key file is not read.
* unset, on a SQLite file: the key in ``<database file>.secret-key`` beside it, made (0600)
  on the first start and read on every later one. Back it up with the database: without it
  the stored secrets cannot be read.
* unset, on an in-memory SQLite: a key for this process alone.
* unset, on PostgreSQL: no key. Every process must share one, so none is made up: the
  process starts (workflows without secrets work), storing a secret is refused with a line
  that names WFA_SECRET_KEY, and a step that names a secret fails with
  ``secret.unavailable``.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from sqlalchemy.engine import make_url

from wfa.adapters.secrets.callback_tokens import SignedCallbackTokens, UnavailableCallbackTokens
from wfa.adapters.secrets.fernet import FernetCipher, UnavailableCipher, generate_key, parse_keys
from wfa.adapters.secrets.key_file import (
    KeyFileError,
    is_private,
    key_file_beside,
    load_or_create_key,
)
from wfa.application.ports.callbacks import CallbackTokens
from wfa.application.ports.secrets import SecretCipher
from wfa.entrypoints.config import ConfigError, Settings

log = logging.getLogger("wfa.secrets")

NO_KEY = (
    "WFA_SECRET_KEY is not set: with PostgreSQL every process needs the same key to store "
    "or read secrets (make one with 'wfa secret keygen')"
)


def key_file_for(database_url: str) -> Path | None:
    """The key file of an embedded database at ``database_url`` (None: not a SQLite file)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return key_file_beside(Path(url.database))


def make_cipher(settings: Settings, *, warn: bool = True) -> SecretCipher:
    """The cipher this process seals and opens secrets with (see the module docstring).

    ``warn``: log that secrets are disabled when there is no key (a server's start-up); a
    command that is refused for it says so itself.
    """
    text = _key_text(settings)
    if text is None:
        if warn:
            log.warning("secrets are disabled: %s", NO_KEY)
        return UnavailableCipher(NO_KEY)
    return FernetCipher.from_text(text)


def make_callback_tokens(settings: Settings) -> CallbackTokens:
    """What signs and reads task callback links: a key derived from the secret key, so
    every process that shares WFA_SECRET_KEY (or the embedded database's key file) reads
    the links any of them gave out."""
    text = _key_text(settings)
    if text is None:
        return UnavailableCallbackTokens(NO_KEY.replace("store or read secrets", "sign callbacks"))
    return SignedCallbackTokens(parse_keys(text))


def console_keys(settings: Settings) -> list[bytes]:
    """The keys console sessions are signed with: the secret key's, so every process that
    shares it reads every session; none on PostgreSQL without WFA_SECRET_KEY."""
    text = _key_text(settings)
    return [] if text is None else parse_keys(text)


CONSOLE_NO_KEY = NO_KEY.replace("store or read secrets", "sign console sessions")


def _key_text(settings: Settings) -> str | None:
    """WFA_SECRET_KEY, else the embedded database's key (made on first use); None on
    PostgreSQL without WFA_SECRET_KEY."""
    if settings.secret_key:
        return settings.secret_key
    backend = make_url(settings.database_url).get_backend_name()
    if backend != "sqlite":
        return None
    path = key_file_for(settings.database_url)
    if path is None:
        return _process_key()
    try:
        key, created = load_or_create_key(path)
    except KeyFileError as error:
        raise ConfigError(f"WFA_SECRET_KEY is not set and {error}") from None
    if created:
        log.info("made a secret key for the embedded database in %s (back it up with it)", path)
    elif not is_private(path):
        log.warning("the secret key file %s can be read by others: chmod 600 it", path)
    return key


@functools.cache
def _process_key() -> str:
    """An in-memory database's key: one per process, like the database itself."""
    return generate_key()
