"""The HTTP API: a thin Litestar edge that decodes, calls a use case and encodes."""
