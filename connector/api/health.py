"""Health: GET /health reports the dependencies; /health/live and /health/ready are the probes
an orchestrator acts on (restart, route traffic), so they deliberately check less."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, get

from connector import __version__
from connector.api.dependencies import ServicesDep
from connector.api.envelope import ApiResponse, ok
from connector.api.responses import error_responses
from connector.api.schemas import HealthChecks, HealthData, Wire
from connector.errors import ErrorCode, UpstreamUnavailableError

Phase = Literal["starting", "ready", "stopping"]


class Readiness:
    """Where this process is in its life: `starting` until start-up has built the container
    (the schema checked), `ready` until shutdown begins, then `stopping`.

    Deliberately not a dependency check: a started process stays ready through a store or
    cache outage, so that every replica keeps serving what it holds (`/health` reports the
    outage) instead of the whole fleet leaving the load balancer at once.
    """

    def __init__(self, *, ready: bool = False) -> None:
        self.phase: Phase = "ready" if ready else "starting"

    def started(self) -> None:
        self.phase = "ready"

    def stopping(self) -> None:
        self.phase = "stopping"


class ProbeData(Wire):
    status: Literal["ok"]


def readiness_of(request: Request[Any, Any, Any]) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


class HealthController(Controller):
    """Unauthenticated: orchestrators and load balancers call these without a key."""

    path = "/health"
    tags = ["health"]

    @get(
        "/",
        operation_id="getHealth",
        responses=error_responses(ErrorCode.UPSTREAM_UNAVAILABLE, authenticated=False),
    )
    async def get_health(self, services: ServicesDep) -> ApiResponse[HealthData]:
        """The database and the cache. 200 while the database answers (`degraded` without the
        cache); 503 `UPSTREAM_UNAVAILABLE` with `details.checks` when the database does not."""
        report = await services.health.check()
        checks = HealthChecks(database=report.database.value, cache=report.cache.value)
        if report.status == "down":
            raise UpstreamUnavailableError(
                "the database is not answering",
                retry_after=5,
                details={"checks": {"database": checks.database, "cache": checks.cache}},
            )
        return ok(HealthData(status=report.status, version=__version__, checks=checks))

    @get("/live", operation_id="getLiveness", responses=error_responses(authenticated=False))
    async def get_live(self) -> ApiResponse[ProbeData]:
        """Liveness probe: 200 whenever the process answers HTTP. It checks no dependency, so a
        database or cache outage never gets a process restarted."""
        return ok(ProbeData(status="ok"))

    @get(
        "/ready",
        operation_id="getReadiness",
        responses=error_responses(ErrorCode.UPSTREAM_UNAVAILABLE, authenticated=False),
    )
    async def get_ready(self, request: Request[Any, Any, Any]) -> ApiResponse[ProbeData]:
        """Readiness probe: 200 once start-up has finished (configuration read, database schema
        checked) and until shutdown begins; 503 `UPSTREAM_UNAVAILABLE` before and after. It
        stays 200 through a later database or cache outage: the process keeps serving what it
        holds, and `GET /health` reports the outage."""
        phase = readiness_of(request).phase
        if phase == "starting":
            raise UpstreamUnavailableError("the connector is starting", retry_after=1)
        if phase == "stopping":
            raise UpstreamUnavailableError("the connector is shutting down", retry_after=1)
        return ok(ProbeData(status="ok"))
