"""Every failure leaves as an envelope: ours, Litestar's (404, 405, validation), the unexpected."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_405_METHOD_NOT_ALLOWED, HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ExceptionHandlersMap

from connector.api.envelope import failure
from connector.api.problems import rule_of
from connector.errors import (
    AuthenticationError,
    ConnectorError,
    InternalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationError,
)
from connector.logs import context

log = logging.getLogger("connector.api")


def envelope_response(error: ConnectorError, *, status: int | None = None) -> Response[Any]:
    """The failure envelope with its status; Retry-After mirrors details.retryAfter."""
    mapped_status, body = failure(error)
    if (request := context.current()) is not None:
        request.outcome = error.error_code.value
    headers: dict[str, str] = {}
    retry_after = error.details.get("retryAfter")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(
        body, status_code=status or mapped_status, headers=headers, media_type=MediaType.JSON
    )


def handle_connector_error(_: Request[Any, Any, Any], exc: ConnectorError) -> Response[Any]:
    if isinstance(exc, InternalError):
        log.error("internal error: %s", exc.message)
    return envelope_response(exc)


# Litestar's own refusals by status; 405 and 413 keep their HTTP status (clients and proxies
# rely on it) but carry VALIDATION_ERROR, the closest code of the closed enum.
_BY_STATUS: dict[int, Callable[[Request[Any, Any, Any], HTTPException], ConnectorError]] = {
    400: lambda r, e: ValidationError("the request is not valid", details=_fields(r, e)),
    401: lambda _, __: AuthenticationError("a valid API key is required"),
    403: lambda _, __: PermissionDeniedError("this API key may not do that"),
    404: lambda _, __: NotFoundError("no such route"),
    405: lambda _, __: ValidationError("method not allowed on this route"),
    413: lambda _, __: ValidationError("request body too large"),
    429: lambda _, e: RateLimitedError("too many requests", retry_after=_retry_after(e)),
}
_KEEP_STATUS = frozenset({HTTP_405_METHOD_NOT_ALLOWED, HTTP_413_REQUEST_ENTITY_TOO_LARGE})


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own refusals (routing, validation), translated to our codes."""
    status = 400 if isinstance(exc, ValidationException) else exc.status_code
    translate = _BY_STATUS.get(status)
    if translate is None and status < 500:
        translate = _BY_STATUS[400]
    if translate is None:
        log.error("HTTP %s raised inside the service: %s", status, exc.detail)
        return envelope_response(InternalError("internal error"))
    response = envelope_response(
        translate(request, exc), status=status if status in _KEEP_STATUS else None
    )
    allow = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    response.headers.update(allow)
    return response


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The traceback goes to the log (server side) only; the caller sees a bare envelope.
    log.exception("unhandled %s", type(exc).__name__)
    return envelope_response(InternalError("internal error"))


def _fields(request: Request[Any, Any, Any], exc: HTTPException) -> dict[str, Any]:
    """Which fields failed (by their names on the wire) and the rule each broke, without
    echoing the values sent (they may be secrets)."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    problems = [
        {
            "field": _wire_name(request, item.get("key")),
            "source": item.get("source"),
            "message": rule_of(str(item.get("message", ""))),
        }
        for item in extra
        if isinstance(item, dict)
    ]
    return {"problems": problems} if problems else {}


def _wire_name(request: Request[Any, Any, Any], key: Any) -> Any:
    """Litestar names a failed parameter by its Python name (`max_keys`); callers know the name
    they sent (`maxKeys`). Body fields already carry their wire names."""
    handler = request.scope.get("route_handler")
    parameter = handler.parsed_fn_signature.parameters.get(key) if handler else None
    alias = getattr(getattr(parameter, "kwarg_definition", None), "name", None)
    return alias if isinstance(alias, str) else key


def _retry_after(exc: HTTPException) -> int:
    raw = (exc.headers or {}).get("Retry-After", "1")
    return int(raw) if raw.isdigit() else 1


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ConnectorError: handle_connector_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
