"""Entrypoints: the command line and the composition of adapters into a running engine."""
