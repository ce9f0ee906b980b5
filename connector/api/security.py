"""Authentication and authorization at the edge: API-key guards and the X-User-Id dependency."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import HeaderParameter
from litestar.types import Guard

from connector.api.responses import error_responses
from connector.domain.identifiers import parse_user_id
from connector.domain.models import ApiKey, Scope
from connector.errors import AuthenticationError, ErrorCode, ValidationError
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


def requires(scope: Scope | None) -> Guard:
    """A guard: a valid, unrevoked key carrying `scope` (401 / 403 otherwise). With None, any
    valid key passes and the service checks the scope (it depends on the request's content)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        key = await services_of(connection).api_keys.authenticate(presented_key(connection))
        if scope is not None:
            require_scope(key, scope)
        connection.state.api_key = key

    guard.__name__ = f"requires_{scope.value.replace(':', '_') if scope else 'a_key'}"
    return guard


ServicesDep = NamedDependency[Services]
"""The process's services, injected by name (`services`)."""
UserId = NamedDependency[str]
"""The validated X-User-Id, injected by name (`user_id`)."""
OptionalUserId = NamedDependency[str | None]
"""The validated X-User-Id when sent, injected by name (`expected_user`)."""
Caller = NamedDependency[ApiKey]
"""The authenticated API key, injected by name (`caller`), for services that check its policy."""


def acting_for_user(scope: Scope | None, *codes: ErrorCode) -> dict[str, Any]:
    """Route options shared by every route that acts for a user: the key's scope, the validated
    X-User-Id, the calling key, the security schemes and the documented failures."""
    return {
        "guards": [requires(scope)],
        "security": SECURITY,
        "dependencies": {"user_id": Provide(provide_user_id), "caller": Provide(provide_api_key)},
        "responses": error_responses(ErrorCode.MISSING_USER_ID, *codes),
    }


async def provide_api_key(request: Request[Any, Any, Any]) -> ApiKey:
    """The key the guard authenticated."""
    key: ApiKey = request.state.api_key
    return key


async def provide_services(request: Request[Any, Any, Any]) -> Services:
    return services_of(request)


USER_ID_HEADER = "X-User-Id"
UserIdHeader = Annotated[
    str | None,
    HeaderParameter(
        name=USER_ID_HEADER,
        description="The user to act for: 1-128 characters of A-Z a-z 0-9 . _ @ : + -",
    ),
]


def user_id_header(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The one X-User-Id header sent, or None. Several are refused: which one a proxy, a
    framework or a log would take is not ours to guess, and the first must not silently win."""
    values = connection.headers.getall(USER_ID_HEADER, [])
    if len(values) > 1:
        raise ValidationError(
            "send X-User-Id once: several headers name several users", details={"field": "userId"}
        )
    return values[0] if values else None


# Each provider declares the header (`x_user_id`) for the OpenAPI document only; the value is
# read from the request itself, where a repeated header can be seen.


async def provide_user_id(request: Request[Any, Any, Any], x_user_id: UserIdHeader = None) -> str:
    """The validated user id; never trusted without a valid key (guards run first)."""
    return parse_user_id(user_id_header(request))


async def provide_optional_user_id(
    request: Request[Any, Any, Any], x_user_id: UserIdHeader = None
) -> str | None:
    """The validated user id when the route takes one optionally (POST /callback), else None."""
    raw = user_id_header(request)
    return None if raw is None else parse_user_id(raw)
