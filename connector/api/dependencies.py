"""What handlers receive by name: the services, the calling key, the user acted for."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from connector.api.guards import caller_of, services_of
from connector.domain.identifiers import parse_user_id
from connector.domain.models import ApiKey
from connector.errors import ValidationError
from connector.services.container import OAuthServices, Services

ServicesDep = NamedDependency[Services]
"""The process's services (`services`)."""
OAuthDep = NamedDependency[OAuthServices]
"""The services that need Cognito (`oauth`); INTERNAL_ERROR when it is not configured."""
Caller = NamedDependency[ApiKey]
"""The authenticated API key (`caller`), for the services that check its policy."""
UserId = NamedDependency[str]
"""The validated X-User-Id (`user_id`)."""
OptionalUserId = NamedDependency[str | None]
"""The validated X-User-Id when sent (`user_id`), for routes where it is optional."""

USER_ID_HEADER = "X-User-Id"
UserIdHeader = Annotated[
    str | None,
    HeaderParameter(
        name=USER_ID_HEADER,
        description="The user to act for: 1-128 characters of A-Z a-z 0-9 . _ @ : + -",
    ),
]


def provide_services(request: Request[Any, Any, Any]) -> Services:
    return services_of(request)


def provide_oauth(request: Request[Any, Any, Any]) -> OAuthServices:
    return services_of(request).oauth()


def provide_caller(request: Request[Any, Any, Any]) -> ApiKey:
    return caller_of(request)


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


def provide_user_id(request: Request[Any, Any, Any], x_user_id: UserIdHeader = None) -> str:
    """The validated user id; never trusted without a valid key (guards run first)."""
    return parse_user_id(user_id_header(request))


def provide_optional_user_id(
    request: Request[Any, Any, Any], x_user_id: UserIdHeader = None
) -> str | None:
    """The validated user id when the route takes one optionally (POST /callback), else None."""
    raw = user_id_header(request)
    return None if raw is None else parse_user_id(raw)


# Plain functions, run inline: async providers would cost an anyio task group per request (a
# third of a warm request's time in the profile), and none of these does I/O.
OAUTH = Provide(provide_oauth, sync_to_thread=False)
CALLER = Provide(provide_caller, sync_to_thread=False)
USER_ID = Provide(provide_user_id, sync_to_thread=False)
OPTIONAL_USER_ID = Provide(provide_optional_user_id, sync_to_thread=False)
SERVICES = {"services": Provide(provide_services, sync_to_thread=False)}
ACTING_FOR_USER = {"user_id": USER_ID, "caller": CALLER, "oauth": OAUTH}
# Handlers name `user_id` before `oauth`: Litestar resolves in signature order, and a malformed
# request must be refused as such before "Cognito is not configured" (a test walks every route).
"""The class-level dependencies of every controller whose routes act for a user."""
