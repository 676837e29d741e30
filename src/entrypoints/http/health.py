"""Liveness, readiness and metrics: open to all, no API key."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from wfa.entrypoints.http.schemas import HealthOut
from wfa.entrypoints.readiness import Readiness


@get("/health", tags=["operations"])
async def health() -> HealthOut:
    """Liveness: the process is up and answering; it checks nothing else (see /ready)."""
    return HealthOut(status="ok")


@get(
    "/ready",
    tags=["operations"],
    responses={503: ResponseSpec(data_container=HealthOut, description="Not ready")},
)
async def ready(readiness: NamedDependency[Readiness]) -> Response[HealthOut]:
    """The database and the queue can be reached (503 otherwise)."""
    checks = await readiness.check()
    ok = all(result == "ok" for result in checks.values())
    body = HealthOut(status="ok" if ok else "unavailable", checks=checks)
    return Response(body, status_code=200 if ok else 503)
