"""Adapters for the events ports."""
