"""OpenTelemetry (the `otel` extra): the caller's trace context, sent by the Python client's header
propagation, continues through the connector's server span down to the AWS calls it makes for
the user, all in one trace, collected with the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connector_client._trace_context import propagate
from opentelemetry import trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import InvalidRequestError
from support.aws_world import connect_alice, headers
from support.oauth_world import CognitoWorld

from connector import tracing
from connector.app import create_app


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The in-memory exporter on the process's tracer provider (installed once per process),
    and the instrumentations for this test only."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.start()  # keeps the provider above
    try:
        yield exporter
    finally:
        for instrumentor in (
            BotocoreInstrumentor(),  # type: ignore[no-untyped-call]
            HTTPXClientInstrumentor(),
            RedisInstrumentor(),
        ):
            instrumentor.uninstrument()
        sql = SQLAlchemyInstrumentor()
        # Its functions are unwrapped first; the listeners of engines it saw may be gone already.
        with contextlib.suppress(InvalidRequestError):
            sql.uninstrument()
        sql._is_instrumented_by_opentelemetry = False
        exporter.clear()
        exporter.shutdown()


def test_tracing_is_requested_by_the_standard_variables() -> None:
    assert not tracing.requested({})
    assert tracing.requested({"OTEL_SERVICE_NAME": "connector"})
    assert tracing.requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing.requested({"OTEL_SERVICE_NAME": "connector", "OTEL_SDK_DISABLED": "true"})
    assert not tracing.requested({"OTEL_SERVICE_NAME": "c", "OTEL_TRACES_EXPORTER": "none"})


async def test_one_trace_runs_from_the_callers_span_to_the_aws_call(
    world: CognitoWorld, aws: dict[str, Any], spans: InMemorySpanExporter
) -> None:
    # The replica after the instrumentation (its engine is instrumented when created), and
    # closed after it is removed (the world's teardown comes after this fixture's).
    replica = await world.instance()
    await connect_alice(world, replica)
    key = await world.key(replica, "s3:read")
    app = create_app(world.settings, container=replica.container, tracing=True)
    caller = trace.get_tracer("a calling service")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://connector.test"
    ) as http:
        with caller.start_as_current_span("list my buckets") as parent:
            sent = headers(key)
            propagate(sent)  # what the Python client adds to each request
            # Sent from an empty context, as from another process: only the header links them.
            answer = await asyncio.create_task(
                http.get("/s3/buckets", headers=sent), context=contextvars.Context()
            )
    assert answer.status_code == 200, answer.text
    trace_id = parent.get_span_context().trace_id
    assert sent["traceparent"].split("-")[1] == f"{trace_id:032x}"

    in_trace = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    server = [s for s in in_trace if s.kind is SpanKind.SERVER]
    assert server, [s.name for s in in_trace]
    assert server[0].parent is not None
    assert server[0].parent.span_id == parent.get_span_context().span_id
    aws_calls = {s.name for s in in_trace if s.kind is SpanKind.CLIENT}
    assert "S3.ListBuckets" in aws_calls, aws_calls
    assert "Cognito Identity.GetCredentialsForIdentity" in aws_calls, aws_calls
    # The connection flow before it: the store over SQLAlchemy, the cache over redis-py.
    everything = spans.get_finished_spans()
    kinds = {str((s.attributes or {}).get("db.system")) for s in everything}
    assert {"sqlite", "redis"} <= kinds
    assert any(s.name.startswith("SELECT") for s in everything)
    # httpx is instrumented too; here Cognito is the in-process stand-in (an ASGI transport,
    # which httpx's instrumentation does not wrap), so its spans show only against a network.
    assert HTTPXClientInstrumentor().is_instrumented_by_opentelemetry
    for span in in_trace:  # no key or token in any attribute
        assert key not in str(dict(span.attributes or {}))
