"""Authentication and authorization at the edge: who calls (an API key), and what it may do.

Every route that takes a key has `authenticated` at its controller; a route whose scope does not
depend on the request adds `requires(scope)`, so the scope is checked once, before the handler.
(Presign's scope depends on its body: the S3 service checks it.)
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Guard

from connector.domain.models import ApiKey, Scope
from connector.errors import AuthenticationError
from connector.services.access import require_scope
from connector.services.container import Services

SECURITY_COMPONENTS = Components(
    security_schemes={
        "BearerKey": SecurityScheme(type="http", scheme="bearer", description="API key"),
        "HeaderKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
    }
)
SECURITY: list[dict[str, list[str]]] = [{"BearerKey": []}, {"HeaderKey": []}]


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
    connection.state.api_key = await services_of(connection).api_keys.authenticate(
        presented_key(connection)
    )


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """The key `authenticated` accepted."""
    key: ApiKey = connection.state.api_key
    return key


def requires(scope: Scope) -> Guard:
    """The authenticated key carries `scope` (403 FORBIDDEN otherwise)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        require_scope(caller_of(connection), scope)

    guard.__name__ = f"requires_{scope.value.replace(':', '_')}"
    return guard
