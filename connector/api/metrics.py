"""GET /metrics: Prometheus text format, every worker's series under multiprocess mode."""

from __future__ import annotations

from litestar import Controller, Response, get

from connector import metrics


class MetricsController(Controller):
    """Prometheus text format; not part of the JSON API, so not in the OpenAPI document."""

    path = "/metrics"
    include_in_schema = False

    @get(sync_to_thread=True)  # reads the workers' files under multiprocess mode
    def get_metrics(self) -> Response[bytes]:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)
