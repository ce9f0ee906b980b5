"""GET /metrics: Prometheus request metrics from Litestar's own middleware."""

from __future__ import annotations

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

# Path templates, not raw paths, label the series: user ids and keys never become labels.
PROMETHEUS = PrometheusConfig(
    app_name="connector",
    prefix="connector",
    group_path=True,
    exclude_unhandled_paths=True,
    exclude=["/metrics"],
)


class MetricsController(PrometheusController):
    """Prometheus text format; not part of the JSON API, so not in the OpenAPI document."""

    path = "/metrics"
    include_in_schema = False
