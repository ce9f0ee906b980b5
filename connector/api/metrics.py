"""GET /metrics: Prometheus text format, every worker's series under multiprocess mode."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.concurrency import sync_to_thread

from connector import metrics
from connector.api.dependencies import ServicesDep


class MetricsController(Controller):
    """Prometheus text format; not part of the JSON API, so not in the OpenAPI document."""

    path = "/metrics"
    include_in_schema = False

    @get()
    async def get_metrics(self, services: ServicesDep) -> Response[bytes]:
        counts = await services.census.by_status()  # cached, bounded: never fails the scrape
        # In a thread: it reads the workers' files under multiprocess mode.
        body, content_type = await sync_to_thread(metrics.exposition, counts)
        return Response(body, media_type=content_type)
