"""GET /health: liveness and readiness of the database and the cache."""

from __future__ import annotations

from litestar import get

from connector import __version__
from connector.api.envelope import ApiResponse, ok
from connector.api.responses import error_responses
from connector.api.schemas import HealthChecks, HealthData
from connector.api.security import ServicesDep
from connector.errors import ErrorCode, UpstreamUnavailableError


@get(
    "/health",
    operation_id="getHealth",
    tags=["health"],
    responses=error_responses(ErrorCode.UPSTREAM_UNAVAILABLE, authenticated=False),
)
async def get_health(services: ServicesDep) -> ApiResponse[HealthData]:
    """Liveness and readiness. 200 while the database answers (`degraded` without the cache);
    503 `UPSTREAM_UNAVAILABLE` with `details.checks` when the database does not."""
    report = await services.health.check()
    checks = HealthChecks(database=report.database.value, cache=report.cache.value)
    if report.status == "down":
        error = UpstreamUnavailableError(
            "the database is not answering",
            retry_after=5,
            details={"checks": {"database": checks.database, "cache": checks.cache}},
        )
        raise error
    return ok(HealthData(status=report.status, version=__version__, checks=checks))
