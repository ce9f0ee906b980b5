"""POST /rpc: JSON-RPC 2.0 over HTTP, single calls and batches, onto the REST operations."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType

from connector.api.envelope import failure, ok
from connector.api.exception_handlers import envelope_response
from connector.api.guards import SECURITY, authenticated, caller_of, services_of
from connector.api.inline_budget import InlineBudget
from connector.api.jsonrpc import METHOD_NOT_FOUND, Call, RpcFaultError, RpcResponse, parse
from connector.api.observe import resource_of
from connector.api.responses import error_responses, failure_response
from connector.api.rpc_methods import METHODS, Context, DisconnectParams, Params
from connector.domain.rate_limits import scope_class
from connector.errors import ConnectorError, ErrorCode, InternalError, ValidationError
from connector.logs import audit
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
                    description="By name, as the REST routes name them; `userId` names the "
                    "user, and `provider` the Cognito provider of every method acting for a user "
                    "(absent: the default provider; `disconnect` also takes `all: true`).",
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


class RpcController(Controller):
    path = "/rpc"
    tags = ["rpc"]
    security = SECURITY
    guards = [authenticated]

    @post(
        operation_id="rpc",
        status_code=200,
        operation_class=_RpcOperation,
        request_max_body_size=None,  # bounded below, by a limit drawn from the settings
        responses={
            204: ResponseSpec(None, description="Only notifications were sent: no answer"),
            **error_responses(),
            413: failure_response(
                ErrorCode.VALIDATION_ERROR,
                description="Failure envelope, code VALIDATION_ERROR: the body is larger than the"
                " inline budget as base64 and 1 MiB",
            ),
        },
    )
    async def rpc(
        self, request: Request[Any, Any, Any]
    ) -> Response[RpcResponse | list[RpcResponse] | None]:
        """JSON-RPC 2.0: one call or a batch (a few calls at a time). Methods: connect, callback,
        confirmConnect, rejectConnect, disconnect, getConnection, getToken, getCredentials,
        listBuckets, listObjects, getObject, putObject, deleteObject, presign, listFunctions,
        getFunction, invokeLambda.

        The API key is checked first (401 envelope). Then the answer is 200 with JSON-RPC
        responses whose `result` is the ApiResponse envelope of the REST twin (FORBIDDEN when the
        key lacks the method's scope). Faults: -32700 parse error, -32600 invalid request (an empty
        or oversized batch too), -32601 method not found, -32602 invalid params (a malformed
        `userId` too). Notifications (no `id`) get no response; only notifications: 204.
        `getObject` returns base64 up to the configured limit (default 5 MiB); `putObject` takes
        `body` as base64 and `contentType`. One request carries at most that many object bytes
        inline, over all its calls: calls past it are VALIDATION_ERROR pointing to presign, and a
        body larger than that much base64 plus 1 MiB is refused whole (413 VALIDATION_ERROR).
        X-User-Id is ignored: `params.userId` names the user."""
        settings: RpcSettings = request.app.state.container.settings.rpc
        body = await _body_within(request, settings.max_request_bytes)
        if body is None:
            return envelope_response(_body_too_large(settings.max_request_bytes), status=413)
        parsed = parse(body, max_batch=settings.max_batch)
        if isinstance(parsed, RpcResponse):
            return Response(parsed)
        budget = InlineBudget(total=settings.max_inline_bytes, per_object=settings.max_object_bytes)
        context = Context(services_of(request), caller_of(request), budget)
        running = asyncio.Semaphore(settings.batch_concurrency)

        async def respond(item: Call | RpcResponse) -> RpcResponse | None:
            async with running:
                return await _respond(context, item)

        answers = await asyncio.gather(*(respond(item) for item in parsed.items))
        responses = [answer for answer in answers if answer is not None]
        if not responses:
            return Response(None, status_code=204)
        return Response(responses if parsed.batch else responses[0])


async def _body_within(request: Request[Any, Any, Any], limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` (never read further)."""
    if (request.content_length or 0) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _body_too_large(limit: int) -> ValidationError:
    return ValidationError(
        f"a JSON-RPC body is at most {limit} bytes: send large objects with presign or the"
        " streamed PUT /s3/buckets/{bucket}/objects/{key}, or split the batch",
        details={"limit": limit, "use": "presign"},
    )


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
    outcome = audit.OK
    try:
        if method.scope is not None:
            require_scope(context.caller, method.scope)
        # Each call counts, as its REST twin would: over a limit, this call is RATE_LIMITED.
        await context.services.rate_limits.admit(
            context.caller.id, getattr(params, "user_id", None), scope_class(method.scope)
        )
        result = ok(await method.run(context, params))
    except RpcFaultError as fault:  # params only a method can check (putObject's base64)
        return fault.response(call.id)
    except ConnectorError as exc:
        if isinstance(exc, InternalError):
            log.error("internal error in JSON-RPC %s: %s", call.method, exc.message)
        result = failure(exc)[1]
        outcome = exc.error_code.value
    except Exception:
        log.exception("JSON-RPC %s raised", call.method)
        result = failure(InternalError("internal error"))[1]
        outcome = InternalError.code.value
    _audit(context, call.method, params, outcome)
    return RpcResponse(jsonrpc="2.0", id=call.id, result=result)


def _audit(context: Context, method: str, params: Any, outcome: str) -> None:
    """The audit event of a call acting for a user (the REST twin's, from the middleware)."""
    user_id = getattr(params, "user_id", None)
    if user_id is None:
        return
    named = {name: getattr(params, name, None) for name in ("bucket", "key", "name")}
    audit.record(
        method,
        user_id=user_id,
        outcome=outcome,
        resource=resource_of(named),
        key_id=context.caller.id,
        key_name=context.caller.name,
        provider=_provider_of(context, params),
    )


def _provider_of(context: Context, params: Any) -> str | None:
    """The provider a call acted on: the one it named, or the default (as sent when it named
    one that is not configured); None for a call over several (listConnections, disconnect
    all) or one whose grant knows its own."""
    if not isinstance(params, Params) or (
        isinstance(params, DisconnectParams) and params.all_providers
    ):
        return None
    try:
        return context.services.resolve_provider(params.provider)
    except ConnectorError:
        return params.provider
