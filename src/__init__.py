"""wfa: a durable workflow automation engine."""

__version__ = "0.1.0"
