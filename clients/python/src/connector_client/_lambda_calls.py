"""The Lambda routes as request builders (see `_connection_calls`)."""

from __future__ import annotations

from typing import Any, Literal

from connector_client._body import json_body
from connector_client._receive import Decode
from connector_client._transport import JSON, Call, Pages, data_of, path_segment
from connector_client.models import FunctionDetail, FunctionInfo, FunctionPage, InvokeResult


def list_functions(
    user_id: str,
    *,
    marker: str | None = None,
    max_items: int | None = None,
    provider: str | None = None,
) -> Call[FunctionPage]:
    """One page of Lambda functions (see `iter_functions` for all of them)."""
    return Call(
        method="GET",
        path="/lambda/functions",
        user_id=user_id,
        provider=provider,
        params={"marker": marker, "maxItems": max_items},
        receive=Decode(data_of(FunctionPage)),
    )


def iter_functions(
    user_id: str,
    *,
    page_size: int | None = None,
    provider: str | None = None,
) -> Pages[FunctionPage, FunctionInfo]:
    """Every Lambda function the user (and the key's policy) can see, page after page."""

    def page(marker: str | None) -> Call[FunctionPage]:
        return list_functions(user_id, marker=marker, max_items=page_size, provider=provider)

    return Pages(
        first=page(None),
        items=lambda listed: listed.functions,
        following=lambda listed: page(listed.next_marker) if listed.next_marker else None,
    )


def get_function(user_id: str, name: str, *, provider: str | None = None) -> Call[FunctionDetail]:
    """A function's configuration (`name` may be a name, an ARN or name:qualifier)."""
    return Call(
        method="GET",
        path=f"/lambda/functions/{path_segment(name, safe=':')}",
        user_id=user_id,
        provider=provider,
        receive=Decode(data_of(FunctionDetail)),
    )


def invoke(
    user_id: str,
    name: str,
    payload: Any = None,
    *,
    invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse",
    log_type: Literal["None", "Tail"] = "None",
    provider: str | None = None,
) -> Call[InvokeResult]:
    """Invoke the function with `payload` (any JSON value; `{}` when None) as its event.
    Retried only when throttled: after other failures the function may have run."""
    return Call(
        method="POST",
        path=f"/lambda/functions/{path_segment(name, safe=':')}/invoke",
        user_id=user_id,
        provider=provider,
        body=json_body(
            {
                "payload": {} if payload is None else payload,
                "invocationType": invocation_type,
                "logType": log_type,
            }
        ),
        headers={"Content-Type": JSON},
        receive=Decode(data_of(InvokeResult)),
        idempotent=False,
    )
