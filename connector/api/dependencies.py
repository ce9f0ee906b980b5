"""What handlers receive by name: the services, the calling key, the user acted for."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from connector.api.constraints import OptionalUserIdHeader, UserIdHeader
from connector.api.guards import caller_of, services_of
from connector.domain.models import ApiKey
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


def provide_services(request: Request[Any, Any, Any]) -> Services:
    return services_of(request)


def provide_oauth(request: Request[Any, Any, Any]) -> OAuthServices:
    return services_of(request).oauth()


def provide_caller(request: Request[Any, Any, Any]) -> ApiKey:
    return caller_of(request)


# Each provider declares the header (`x_user_id`) for the OpenAPI document only; the guard
# (`names_user`, `may_name_user`) has read and validated it already.


def provide_user_id(request: Request[Any, Any, Any], x_user_id: UserIdHeader) -> str:
    """The user id `names_user` validated (after the key: never trusted without one)."""
    user_id: str = request.state.user_id
    return user_id


def provide_optional_user_id(
    request: Request[Any, Any, Any], x_user_id: OptionalUserIdHeader = None
) -> str | None:
    """The user id `may_name_user` validated, or None (POST /callback)."""
    user_id: str | None = request.state.user_id
    return user_id


# Plain functions, run inline: async providers would cost an anyio task group per request (a
# third of a warm request's time in the profile), and none of these does I/O.
OAUTH = Provide(provide_oauth, sync_to_thread=False)
CALLER = Provide(provide_caller, sync_to_thread=False)
USER_ID = Provide(provide_user_id, sync_to_thread=False)
OPTIONAL_USER_ID = Provide(provide_optional_user_id, sync_to_thread=False)
SERVICES = {"services": Provide(provide_services, sync_to_thread=False)}
ACTING_FOR_USER = {"user_id": USER_ID, "caller": CALLER, "oauth": OAUTH}
"""The class-level dependencies of every controller whose routes act for a user."""
