"""POST /rpc: JSON-RPC 2.0 over HTTP, single calls and batches, onto the REST operations."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, post
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType

from connector.api.envelope import failure, ok
from connector.api.jsonrpc import METHOD_NOT_FOUND, Call, RpcFaultError, RpcResponse, parse
from connector.api.responses import error_responses
from connector.api.rpc_methods import METHODS, Context
from connector.api.security import SECURITY, requires, services_of
from connector.errors import ConnectorError, InternalError
from connector.services.access import require_scope
from connector.settings import RpcSettings

log = logging.getLogger("connector.api")


@dataclass
class _RpcOperation(Operation):
    """The request body is read raw (a malformed one is a JSON-RPC fault, not a 400), so its
    schema is documented here: one request object or a batch of them."""

    def __post_init__(self) -> None:  # (a dataclass, so that its __init__ calls this)
        call = Schema(
            type=OpenAPIType.OBJECT,
            required=["jsonrpc", "method"],
            properties={
                "jsonrpc": Schema(type=OpenAPIType.STRING, const="2.0"),
                "method": Schema(type=OpenAPIType.STRING, enum=sorted(METHODS)),
                "params": Schema(
                    type=OpenAPIType.OBJECT,
                    description="By name, as the REST routes name them; `userId` names the user.",
                ),
                "id": Schema(
                    one_of=[
                        Schema(type=OpenAPIType.STRING),
                        Schema(type=OpenAPIType.NUMBER),
                        Schema(type=OpenAPIType.NULL),
                    ],
                    description="Absent for a notification (no answer).",
                ),
            },
        )
        body = Schema(one_of=[call, Schema(type=OpenAPIType.ARRAY, items=call, min_items=1)])
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=body)}, required=True
        )


@post(
    "/rpc",
    operation_id="rpc",
    tags=["rpc"],
    status_code=200,
    guards=[requires(None)],
    security=SECURITY,
    operation_class=_RpcOperation,
    responses=error_responses(),
)
async def rpc(request: Request[Any, Any, Any]) -> Response[RpcResponse | list[RpcResponse] | None]:
    """JSON-RPC 2.0: one call or a batch (run concurrently). Methods: connect, callback,
    confirmConnect, rejectConnect, disconnect, getConnection, getToken, getCredentials,
    listBuckets, listObjects, getObject, putObject, deleteObject, presign, listFunctions,
    getFunction, invokeLambda.

    The API key is checked first (401 envelope). Then the answer is 200 with JSON-RPC
    responses whose `result` is the ApiResponse envelope of the REST twin (FORBIDDEN when the
    key lacks the method's scope). Faults: -32700 parse error, -32600 invalid request (an empty
    or oversized batch too), -32601 method not found, -32602 invalid params (a malformed
    `userId` too). Notifications (no `id`) get no response; only notifications: 204.
    `getObject` returns base64 up to the configured limit (default 5 MiB); `putObject` takes
    `body` as base64 and `contentType`. X-User-Id is ignored: `params.userId` names the user."""
    settings: RpcSettings = request.app.state.container.settings.rpc
    parsed = parse(await request.body(), max_batch=settings.max_batch)
    if isinstance(parsed, RpcResponse):
        return Response(parsed)
    context = Context(services_of(request), request.state.api_key, settings.max_object_bytes)
    answers = await asyncio.gather(*(_respond(context, item) for item in parsed.items))
    responses = [answer for answer in answers if answer is not None]
    if not responses:
        return Response(None, status_code=204)
    return Response(responses if parsed.batch else responses[0])


async def _respond(context: Context, item: Call | RpcResponse) -> RpcResponse | None:
    """The response to one item of the body; None for a notification."""
    if isinstance(item, RpcResponse):
        return item
    answer = await _run(context, item)
    return None if item.notification else answer


async def _run(context: Context, call: Call) -> RpcResponse:
    """One call, isolated: whatever it raises becomes its own response, never its neighbours'."""
    method = METHODS.get(call.method)
    if method is None:
        fault = RpcFaultError(METHOD_NOT_FOUND, "Method not found", {"method": call.method[:64]})
        return fault.response(call.id)
    try:
        params = method.decode(call.params)
    except RpcFaultError as fault:
        return fault.response(call.id)
    result: Any
    try:
        if method.scope is not None:
            require_scope(context.caller, method.scope)
        result = ok(await method.run(context, params))
    except RpcFaultError as fault:  # params only a method can check (putObject's base64)
        return fault.response(call.id)
    except ConnectorError as exc:
        if isinstance(exc, InternalError):
            log.error("internal error in JSON-RPC %s: %s", call.method, exc.message)
        result = failure(exc)[1]
    except Exception:
        log.exception("JSON-RPC %s raised", call.method)
        result = failure(InternalError("internal error"))[1]
    return RpcResponse(jsonrpc="2.0", id=call.id, result=result)
