"""Adapters for the queue ports."""
