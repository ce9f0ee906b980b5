"""Prometheus metrics: the series every part of the connector records, and a small API for more.

Metrics are a cross-cutting concern like logging, not a port: recording is a counter increment
in memory (or in an mmap'd file under multiprocess mode), with no I/O and nothing to fail, so
services record directly. Labels are bounded sets (route templates, codes, outcomes): a user id,
key id or bucket never becomes a label.

Server processes (`connector serve`, one worker or several) share `PROMETHEUS_MULTIPROC_DIR`,
which `serve` empties before the workers start (and removes afterwards when it chose it); the
process answering /metrics sums every worker's files. The variable must be set before
prometheus_client is first imported (it picks its value class at import), which `serve` does
before it starts anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from threading import Lock

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "connector"
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_made: dict[str, Counter | Histogram | Gauge] = {}
_lock = Lock()


def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """The counter `connector_<name>_total` (created once; later calls return the same one).
    For other components (rate limits, providers) to add their own series."""
    with _lock:
        made = _made.get(name)
        if made is None:
            made = _made[name] = Counter(f"{PREFIX}_{name}", documentation, labels)
    if not isinstance(made, Counter):
        raise TypeError(f"metric {name} exists and is not a counter")
    return made


def histogram(
    name: str, documentation: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = ()
) -> Histogram:
    """The histogram `connector_<name>` (created once)."""
    with _lock:
        made = _made.get(name)
        if made is None:
            made = _made[name] = Histogram(
                f"{PREFIX}_{name}",
                documentation,
                labels,
                buckets=buckets or Histogram.DEFAULT_BUCKETS,
            )
    if not isinstance(made, Histogram):
        raise TypeError(f"metric {name} exists and is not a histogram")
    return made


# Requests, by route template (never the raw path) and status, as Litestar's plugin named them.
REQUESTS = counter("requests", "Requests served", ("app_name", "method", "path", "status_code"))
REQUEST_SECONDS = histogram(
    "request_duration_seconds",
    "Request duration, in seconds",
    ("app_name", "method", "path", "status_code"),
)
REFRESHES = counter("token_refreshes", "Cognito token refreshes by outcome", ("outcome",))
MINTS = counter("credential_mints", "AWS credential mints by outcome", ("outcome",))
CACHE_LOOKUPS = counter(
    "cache_lookups",
    "Cache lookups by layer (process, redis), kind of entry and result (hit, miss)",
    ("layer", "kind", "result"),
)
LOCK_WAIT_SECONDS = histogram(
    "lock_wait_seconds",
    "Time spent waiting for another replica's refresh lock, by outcome",
    ("outcome",),
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UPSTREAM_CALLS = counter(
    "upstream_calls",
    "Calls to Cognito and AWS by service and result code (ok, an HTTP status, or an error)",
    ("service", "code"),
)
CONNECTION_CHANGES = counter(
    "connection_changes",
    "Changes made by this connector since it started: a connection entering a status"
    " (active, reauth_required) or deleted. Not how many exist: see connector_connections",
    ("status",),
)
CONNECTION_COUNT_FAILURES = counter(
    "connection_count_failures",
    "Scrapes that left connector_connections out: the store failed (error) or had not"
    " answered in time (timeout)",
    ("reason",),
)
CONNECTIONS = f"{PREFIX}_connections"
WEBHOOK_DELIVERIES = counter(
    "webhook_deliveries", "Webhook delivery attempts by outcome", ("outcome",)
)


@contextmanager
def outcome_counted(counter: Counter) -> Iterator[None]:
    """Count the block under `outcome`: ok, else the error's code (or its type)."""
    try:
        yield
    except BaseException as exc:
        code = getattr(getattr(exc, "error_code", None), "value", None)
        counter.labels(str(code or type(exc).__name__)).inc()
        raise
    counter.labels("ok").inc()


def exposition(connections: Mapping[str, int] | None = None) -> tuple[bytes, str]:
    """The text format of this process, or of every worker under multiprocess mode, with the
    gauge `connector_connections{status}` when the counts are given. The gauge comes from the
    store of record, not from the workers' files: whichever worker answers reports it whole."""
    registry = REGISTRY
    if os.environ.get(MULTIPROC_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    body = generate_latest(registry)
    if connections is not None:
        scrape = CollectorRegistry(auto_describe=False)
        scrape.register(_Counted(connections))
        body += generate_latest(scrape)
    return body, CONTENT_TYPE_LATEST


class _Counted(Collector):
    """The connections gauge of one scrape, from counts made elsewhere (ConnectionCensus)."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            CONNECTIONS,
            "Connections in the store of record by status (counted at most once a minute)",
            labels=("status",),
        )
        for status, count in sorted(self._counts.items()):
            gauge.add_metric((status,), count)
        yield gauge


def worker_exited(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters stay: they are part of the totals)."""
    if os.environ.get(MULTIPROC_VARIABLE):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
