"""OpenTelemetry tracing, optional (`pip install connector[otel]`), enabled by the standard
`OTEL_*` variables: a server span per request (W3C `traceparent` honoured), client spans for
botocore, httpx (Cognito, webhooks), Redis and SQLAlchemy.

The SDK reads its own configuration (service name, resource, exporter endpoint, sampler) from
the `OTEL_*` variables; this module only decides whether to start it and installs the
instrumentations. A tracer provider the host process installed first is kept (tests use the
in-memory exporter that way).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from connector.errors import ConfigurationError

_SIGNALS = (
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
)


def requested(environ: Mapping[str, str]) -> bool:
    """True when an `OTEL_*` variable asks for traces and the SDK is not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _SIGNALS)


def check_installed() -> None:
    """ConfigurationError, at start-up, when tracing is asked for without the `otel` extra."""
    if importlib.util.find_spec("opentelemetry.sdk") is None:
        raise ConfigurationError("OTEL_SERVICE_NAME", "tracing needs `pip install connector[otel]`")


def start() -> None:
    """Install the tracer provider (unless one is installed) and the client instrumentations;
    idempotent. ConfigurationError when the `otel` extra is not installed."""
    try:
        from opentelemetry import trace  # noqa: PLC0415 - optional dependency
        from opentelemetry.instrumentation.botocore import (  # noqa: PLC0415
            BotocoreInstrumentor,
        )
        from opentelemetry.instrumentation.httpx import (  # noqa: PLC0415
            HTTPXClientInstrumentor,
        )
        from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415
        from opentelemetry.instrumentation.sqlalchemy import (  # noqa: PLC0415
            SQLAlchemyInstrumentor,
        )
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            "OTEL_SERVICE_NAME", f"tracing needs `pip install connector[otel]` ({exc.name})"
        ) from None
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        provider = TracerProvider()  # resource and sampler from the OTEL_* variables
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    for instrumentor in (
        BotocoreInstrumentor(),  # type: ignore[no-untyped-call]
        HTTPXClientInstrumentor(),
        RedisInstrumentor(),
        SQLAlchemyInstrumentor(),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            # SQLAlchemy's instrumentation declares < 2.1 and works on 2.1's unchanged events.
            instrumentor.instrument(skip_dep_check=True)


def server_plugin() -> Any:
    """Litestar's OpenTelemetry plugin: a server span per request, `traceparent` honoured.
    Headers are not captured (they carry API keys)."""
    from litestar.plugins.opentelemetry import (  # noqa: PLC0415
        OpenTelemetryConfig,
        OpenTelemetryPlugin,
    )

    config = OpenTelemetryConfig(
        exclude=["^/metrics", "^/health"], exclude_spans=["receive", "send"]
    )
    return OpenTelemetryPlugin(config)
