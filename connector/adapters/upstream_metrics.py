"""Counts every call to Cognito and AWS by service and result code (connector_upstream_calls).

boto3 calls are counted by botocore's own events, once per API call (after its retries), so no
gateway counts by hand; the Cognito HTTP clients count where they translate their errors.
"""

from __future__ import annotations

from typing import Any

from connector import metrics

OK = "ok"


def count(service: str, code: str) -> None:
    metrics.UPSTREAM_CALLS.labels(service, code).inc()


def _service(event_name: str) -> str:
    # "after-call.s3.PutObject" / "after-call-error.cognito-identity.GetId"
    parts = event_name.split(".")
    return parts[1] if len(parts) > 2 else "aws"


def _after_call(event_name: str, http_response: Any = None, parsed: Any = None, **_: Any) -> None:
    status = getattr(http_response, "status_code", 0)
    code = OK
    if status >= 300:
        error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
        code = str(error.get("Code") or status)
    count(_service(event_name), code)


def _after_call_error(event_name: str, exception: BaseException | None = None, **_: Any) -> None:
    count(_service(event_name), type(exception).__name__ if exception else "error")


def counting_calls(client: Any) -> Any:
    """`client`, its calls counted."""
    client.meta.events.register("after-call", _after_call)
    client.meta.events.register("after-call-error", _after_call_error)
    return client
