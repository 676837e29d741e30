"""The pure core: workflow definitions, the run state machine, retries and expressions.

The domain imports the standard library, msgspec (frozen Structs for values, written down in
docs/architecture.md) and jmespath (a data-only expression language). It reads no clock and no
randomness: time and random fractions are handed in by the caller.
"""
