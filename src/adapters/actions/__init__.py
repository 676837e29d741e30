"""Adapters for the actions ports."""
