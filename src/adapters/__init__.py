"""Adapters: one folder per port family, each with an in-memory version that is first-class."""
