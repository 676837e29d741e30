"""Use cases of the engine and the ports they need; no SQL, HTTP or Redis in here."""
