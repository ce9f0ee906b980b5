"""JSON-RPC 2.0 framing (https://www.jsonrpc.org/specification), apart from any method: parse a
body into calls, and shape their answers. Pure: no framework, no service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from connector.domain.json_depth import MAX_JSON_DEPTH, nests_deeper_than

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

RequestId = str | int | float | None


class RpcErrorObject(msgspec.Struct, omit_defaults=True):
    code: int
    message: str
    data: Any = msgspec.UNSET


class RpcResponse(msgspec.Struct, omit_defaults=True):
    """`result` (an ApiResponse envelope) or `error` (a transport-level fault), never both."""

    jsonrpc: Literal["2.0"]
    id: RequestId
    result: Any = msgspec.UNSET
    error: RpcErrorObject | msgspec.UnsetType = msgspec.UNSET


class RpcFaultError(Exception):
    """A transport-level fault: becomes the `error` member of the call's response."""

    def __init__(self, code: int, message: str, data: Any = msgspec.UNSET) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def response(self, request_id: RequestId) -> RpcResponse:
        error = RpcErrorObject(code=self.code, message=self.message, data=self.data)
        return RpcResponse(jsonrpc="2.0", id=request_id, error=error)


@dataclass(frozen=True, slots=True)
class Call:
    """One well-formed request object."""

    method: str
    params: dict[str, Any]
    id: RequestId
    notification: bool
    """No `id` member: the client wants no answer, and gets none."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """A body: its calls (or the fault that stands for one), and whether it was a batch."""

    items: list[Call | RpcResponse]
    batch: bool


def parse(body: bytes, *, max_batch: int) -> Parsed | RpcResponse:
    """The calls of a body, or the single response a body without any gets."""
    if nests_deeper_than(body):
        message = f"Parse error: the body nests deeper than {MAX_JSON_DEPTH} levels"
        return RpcFaultError(PARSE_ERROR, message).response(None)
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return RpcFaultError(PARSE_ERROR, "Parse error: the body is not JSON").response(None)
    if not isinstance(document, list):
        return Parsed(_present([_call(document)]), batch=False)
    if not document:
        return RpcFaultError(INVALID_REQUEST, "Invalid Request: empty batch").response(None)
    if len(document) > max_batch:
        return RpcFaultError(
            INVALID_REQUEST,
            f"Invalid Request: a batch holds at most {max_batch} calls",
            {"maxBatch": max_batch, "received": len(document)},
        ).response(None)
    return Parsed(_present([_call(item) for item in document]), batch=True)


def _present(items: list[Call | RpcResponse | None]) -> list[Call | RpcResponse]:
    return [item for item in items if item is not None]


def _call(item: Any) -> Call | RpcResponse | None:
    """A request object, or the response its fault earns (with its id when valid), or None
    for a notification whose fault nobody will hear of."""
    if not isinstance(item, dict):
        return RpcFaultError(INVALID_REQUEST, "Invalid Request: not an object").response(None)
    request_id = item.get("id")
    if not _valid_id(request_id):
        fault = RpcFaultError(INVALID_REQUEST, "Invalid Request: id: a string, number or null")
        return fault.response(None)
    problem = None
    if item.get("jsonrpc") != "2.0":
        problem = 'jsonrpc must be "2.0"'
    elif not isinstance(item.get("method"), str):
        problem = "method must be a string"
    elif not isinstance(item.get("params", {}), dict | list):
        problem = "params must be an object"
    elif set(item) - {"jsonrpc", "method", "params", "id"}:
        problem = "unknown members"
    if problem is not None:
        return RpcFaultError(INVALID_REQUEST, f"Invalid Request: {problem}").response(request_id)
    params = item.get("params", {})
    notification = "id" not in item
    if isinstance(params, list):
        # Structured by position is legal JSON-RPC; this API names every parameter. (A
        # notification learns of no fault: it has no response to carry one.)
        fault = RpcFaultError(INVALID_PARAMS, "Invalid params: pass params by name (an object)")
        return None if notification else fault.response(request_id)
    return Call(item["method"], params, request_id, notification=notification)


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))
