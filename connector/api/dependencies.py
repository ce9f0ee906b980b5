"""What handlers receive by name: the services, the calling key, the user acted for."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from connector.api.guards import caller_of, request_state, services_of
from connector.api.parameters import OptionalUserIdHeader, ProviderQuery, UserIdHeader
from connector.domain.models import ApiKey
from connector.errors import ValidationError
from connector.logs import context
from connector.services.container import OAuthServices, Services
from connector.services.oauth_flow import OAuthFlowService

ServicesDep = NamedDependency[Services]
"""The process's services (`services`)."""
OAuthDep = NamedDependency[OAuthServices]
"""The services that need Cognito (`oauth`), of the provider the request names (the `provider`
query parameter; absent: the default); INTERNAL_ERROR when it is not configured."""
RequestedProvider = NamedDependency[str | None]
"""The `provider` query parameter as sent, once (`requested_provider`), not yet resolved."""
ProviderName = NamedDependency[str]
"""The resolved provider (`provider_name`), checked against the key's policy."""
FlowsDep = NamedDependency[OAuthFlowService]
"""The flow service for requests whose state or confirmation names its provider (`flows`)."""
Caller = NamedDependency[ApiKey]
"""The authenticated API key (`caller`), for the services that check its policy."""
UserId = NamedDependency[str]
"""The validated X-User-Id (`user_id`)."""
OptionalUserId = NamedDependency[str | None]
"""The validated X-User-Id when sent (`user_id`), for routes where it is optional."""


def provide_services(request: Request[Any, Any, Any]) -> Services:
    return services_of(request)


def provide_requested_provider(
    request: Request[Any, Any, Any], provider: ProviderQuery = None
) -> str | None:
    """The `provider` query parameter as sent. Named twice is refused, as X-User-Id is: which
    one a proxy or a framework would take is not ours to guess."""
    if len(request.query_params.getall("provider", [])) > 1:
        raise ValidationError("send provider once", details={"field": "provider"})
    return provider


def provide_provider_name(
    request: Request[Any, Any, Any], requested_provider: NamedDependency[str | None]
) -> str:
    """The provider named by the query (or the default), within the key's policy: checked
    here, before the handler makes any upstream call."""
    return acting_on(services_of(request).resolve_provider(requested_provider, caller_of(request)))


def acting_on(provider: str) -> str:
    """Name the provider on the request's log lines and audit event."""
    if (request := context.current()) is not None:
        request.provider = provider
    return provider


def provide_oauth(
    request: Request[Any, Any, Any], provider_name: NamedDependency[str]
) -> OAuthServices:
    return services_of(request).oauth(provider_name)


def provide_flows(request: Request[Any, Any, Any]) -> OAuthFlowService:
    return services_of(request).flows()


def provide_caller(request: Request[Any, Any, Any]) -> ApiKey:
    return caller_of(request)


# Each provider declares the header (`x_user_id`) for the OpenAPI document only; the guard
# (`names_user`, `may_name_user`) has read and validated it already.


def provide_user_id(request: Request[Any, Any, Any], x_user_id: UserIdHeader) -> str:
    """The user id `names_user` validated (after the key: never trusted without one)."""
    user_id: str = request_state(request)["user_id"]
    return user_id


def provide_optional_user_id(
    request: Request[Any, Any, Any], x_user_id: OptionalUserIdHeader = None
) -> str | None:
    """The user id `may_name_user` validated, or None (POST /callback)."""
    user_id: str | None = request_state(request)["user_id"]
    return user_id


# Plain functions, run inline: async providers would cost an anyio task group per request (a
# third of a warm request's time in the profile), and none of these does I/O.
REQUESTED_PROVIDER = Provide(provide_requested_provider, sync_to_thread=False)
PROVIDER_NAME = Provide(provide_provider_name, sync_to_thread=False)
OAUTH = Provide(provide_oauth, sync_to_thread=False)
FLOWS = Provide(provide_flows, sync_to_thread=False)
CALLER = Provide(provide_caller, sync_to_thread=False)
USER_ID = Provide(provide_user_id, sync_to_thread=False)
OPTIONAL_USER_ID = Provide(provide_optional_user_id, sync_to_thread=False)
SERVICES = {"services": Provide(provide_services, sync_to_thread=False)}
ACTING_FOR_USER = {
    "user_id": USER_ID,
    "caller": CALLER,
    "requested_provider": REQUESTED_PROVIDER,
    "provider_name": PROVIDER_NAME,
    "oauth": OAUTH,
}
"""The class-level dependencies of every controller whose routes act for a user."""
