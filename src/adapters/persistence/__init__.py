"""Adapters for the persistence ports."""
