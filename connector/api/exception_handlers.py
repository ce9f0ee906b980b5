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
from connector.errors import (
    AuthenticationError,
    ConnectorError,
    InternalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationError,
)

log = logging.getLogger("connector.api")


def envelope_response(error: ConnectorError, *, status: int | None = None) -> Response[Any]:
    """The failure envelope with its status; Retry-After mirrors details.retryAfter."""
    mapped_status, body = failure(error)
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
_BY_STATUS: dict[int, Callable[[HTTPException], ConnectorError]] = {
    400: lambda exc: ValidationError("the request is not valid", details=_fields(exc)),
    401: lambda _: AuthenticationError("a valid API key is required"),
    403: lambda _: PermissionDeniedError("this API key may not do that"),
    404: lambda _: NotFoundError("no such route"),
    405: lambda _: ValidationError("method not allowed on this route"),
    413: lambda _: ValidationError("request body too large"),
    429: lambda exc: RateLimitedError("too many requests", retry_after=_retry_after(exc)),
}
_KEEP_STATUS = frozenset({HTTP_405_METHOD_NOT_ALLOWED, HTTP_413_REQUEST_ENTITY_TOO_LARGE})


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own refusals (routing, validation), translated to our codes."""
    status = 400 if isinstance(exc, ValidationException) else exc.status_code
    translate = _BY_STATUS.get(status)
    if translate is None and status < 500:
        translate = _BY_STATUS[400]
    if translate is None:
        log.error("HTTP %s raised inside the service: %s", status, exc.detail)
        return envelope_response(InternalError("internal error"))
    response = envelope_response(translate(exc), status=status if status in _KEEP_STATUS else None)
    allow = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    response.headers.update(allow)
    return response


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The traceback goes to the log (server side) only; the caller sees a bare envelope.
    log.exception("unhandled %s", type(exc).__name__)
    return envelope_response(InternalError("internal error"))


def _fields(exc: HTTPException) -> dict[str, Any]:
    """Which fields failed, without echoing the values sent (they may be secrets)."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    problems = [
        {"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
        for item in extra
        if isinstance(item, dict)
    ]
    return {"problems": problems} if problems else {}


def _retry_after(exc: HTTPException) -> int:
    raw = (exc.headers or {}).get("Retry-After", "1")
    return int(raw) if raw.isdigit() else 1


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ConnectorError: handle_connector_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
