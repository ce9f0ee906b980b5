"""Authentication and authorization at the edge: who calls (an API key), and what it may do.

Every route that takes a key has `authenticated` at its controller; a route whose scope does not
depend on the request adds `requires(scope)`, so the scope is checked once, before the handler.
(Presign's scope depends on its body: the S3 service checks it.) A route acting for a user then
has `names_user`: X-User-Id is read only once the key is known, and before any dependency runs,
so a malformed request is refused as such whatever the handler needs next. `requires` (or
`counts_as`) also classes the request for the rate limits, counted once after every guard.

Every guard is a coroutine function although none awaits I/O but `authenticated`: Litestar runs
a plain-function guard in its thread pool (two thread hops per request were most of a warm
request's wait in the profile); a coroutine runs inline.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Guard

from connector.domain.identifiers import parse_user_id
from connector.domain.models import ApiKey, Scope
from connector.domain.rate_limits import ScopeClass, scope_class
from connector.errors import AuthenticationError, ValidationError
from connector.logs import context
from connector.services.access import require_scope
from connector.services.container import Services

SECURITY_COMPONENTS = Components(
    security_schemes={
        "BearerKey": SecurityScheme(type="http", scheme="bearer", description="API key"),
        "HeaderKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
    }
)
SECURITY: list[dict[str, list[str]]] = [{"BearerKey": []}, {"HeaderKey": []}]


def request_state(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    """What the guards keep for the rest of the request: Litestar's per-request `scope["state"]`
    itself (`connection.state` wraps it in a new State, with its own lock, at every access)."""
    state: dict[str, Any] = connection.scope["state"]
    return state


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """`Authorization: Bearer <key>`, else `X-API-Key`."""
    authorization = connection.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationError("use 'Authorization: Bearer <key>' or 'X-API-Key'")
        return value.strip()
    return connection.headers.get("x-api-key")


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A valid, unrevoked API key (401 otherwise), kept on the request for what follows."""
    key = await services_of(connection).api_keys.authenticate(presented_key(connection))
    request_state(connection)["api_key"] = key
    if (request := context.current()) is not None:
        request.key_id, request.key_name = key.id, key.name


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """The key `authenticated` accepted."""
    key: ApiKey = request_state(connection)["api_key"]
    return key


def requires(scope: Scope) -> Guard:
    """The authenticated key carries `scope` (403 FORBIDDEN otherwise); the request then
    counts against the rate limits of the scope's class (api/rate_limiting.py)."""
    counted_as = scope_class(scope)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        require_scope(caller_of(connection), scope)
        request_state(connection)["rate_limit_class"] = counted_as

    guard.__name__ = f"requires_{scope.value.replace(':', '_')}"
    return guard


def counts_as(counted_as: ScopeClass) -> Guard:
    """The request counts against the rate limits of `counted_as`, for a route whose scope
    depends on its body (presign: the service checks the scope)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        request_state(connection)["rate_limit_class"] = counted_as

    guard.__name__ = f"counts_as_{counted_as.value}"
    return guard


USER_ID_HEADER = "X-User-Id"


def user_id_header(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The one X-User-Id header sent, or None. Several are refused: which one a proxy, a
    framework or a log would take is not ours to guess, and the first must not silently win."""
    values = connection.headers.getall(USER_ID_HEADER, [])
    if len(values) > 1:
        raise ValidationError(
            "send X-User-Id once: several headers name several users", details={"field": "userId"}
        )
    return values[0] if values else None


async def names_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The validated X-User-Id (MISSING_USER_ID / VALIDATION_ERROR), kept on the request."""
    request_state(connection)["user_id"] = _acting_for(parse_user_id(user_id_header(connection)))


async def may_name_user(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """As `names_user` for routes where X-User-Id is optional (None when absent)."""
    raw = user_id_header(connection)
    request_state(connection)["user_id"] = None if raw is None else _acting_for(parse_user_id(raw))


def _acting_for(user_id: str) -> str:
    """Name the user on the request's log lines and audit event."""
    if (request := context.current()) is not None:
        request.user_id = user_id
    return user_id
