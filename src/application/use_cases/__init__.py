"""One use case per class, each with ``async def execute``."""
