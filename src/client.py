"""``from wfa.client import Client``: the typed client of a wfa server's HTTP API.

The code lives in ``wfa.entrypoints.client``; this is its public name.
"""

from wfa.entrypoints.client import *  # noqa: F403
from wfa.entrypoints.client import __all__ as __all__
