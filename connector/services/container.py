"""The services the transport layer may call, as built by the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.domain.models import ApiKey
from connector.domain.providers import DEFAULT_PROVIDER, resolve_provider
from connector.errors import InternalError
from connector.services.access import require_provider
from connector.services.agents import AgentAccess
from connector.services.api_keys import ApiKeyService
from connector.services.connection_census import ConnectionCensus
from connector.services.connections import ConnectionService
from connector.services.credentials import CredentialService
from connector.services.disconnect import DisconnectService
from connector.services.functions import FunctionService
from connector.services.health import HealthService
from connector.services.oauth_flow import OAuthFlowService
from connector.services.rate_limits import RateLimits
from connector.services.s3 import S3Service
from connector.services.tokens import TokenService
from connector.services.user_connections import UserConnections


@dataclass(frozen=True, slots=True)
class OAuthServices:
    """Everything that needs Cognito (AWS calls need the user's identity-pool credentials), for
    one provider; absent until Cognito is configured."""

    flow: OAuthFlowService
    tokens: TokenService
    disconnect: DisconnectService
    credentials: CredentialService
    s3: S3Service
    functions: FunctionService
    connections: ConnectionService
    """The provider's connections."""


@dataclass(frozen=True, slots=True)
class Services:
    """Handed to the API layer through the app state; one instance per process."""

    api_keys: ApiKeyService
    connections: ConnectionService
    health: HealthService
    rate_limits: RateLimits
    census: ConnectionCensus
    """How many connections are in each status (the /metrics gauge)."""
    oauth_services: OAuthServices | None = None
    """The default provider's services."""
    providers: Mapping[str, OAuthServices] = field(default_factory=dict)
    """Every provider's services, by name (sorted)."""
    default_provider: str | None = None
    agent_access: AgentAccess | None = None
    """Who calls /mcp (built with the API keys and the store; user mode needs Cognito)."""

    def agents(self) -> AgentAccess:
        """The MCP callers' authentication, or INTERNAL_ERROR when it was not built."""
        if self.agent_access is None:
            raise InternalError("the MCP endpoint is not configured on this connector")
        return self.agent_access

    def oauth(self, provider: str | None = None) -> OAuthServices:
        """The Cognito side of `provider` (resolved by `resolve_provider`; None: the default),
        or INTERNAL_ERROR when Cognito is not configured."""
        services = self.oauth_services if provider is None else self.providers.get(provider)
        if services is None:
            if provider is not None and self.providers:
                raise InternalError(f"the provider {provider!r} is not configured")
            raise InternalError(
                "Cognito is not configured on this connector (AWS_COGNITO_DOMAIN is unset)"
            )
        return services

    def provider_names(self) -> tuple[str, ...]:
        """The configured providers; `default` alone when none is (its connections can still
        be read)."""
        return tuple(self.providers) or (DEFAULT_PROVIDER,)

    def resolve_provider(self, requested: str | None, caller: ApiKey | None = None) -> str:
        """The provider a request acts on (VALIDATION_ERROR for an unknown one, or for none
        when several are configured without a default); FORBIDDEN when `caller`'s key policy
        does not cover it. Checked before any upstream call."""
        default = self.default_provider if self.providers else DEFAULT_PROVIDER
        name = resolve_provider(requested, self.provider_names(), default)
        if caller is not None:
            require_provider(caller, name)
        return name

    def connections_of(self, provider: str) -> ConnectionService:
        """The connections of one provider (a resolved name)."""
        return self.connections.for_provider(provider)

    def user_connections(self) -> UserConnections:
        """The user's connections across every configured provider."""
        disconnects = {name: oauth.disconnect for name, oauth in self.providers.items()}
        return UserConnections(self.connections, self.provider_names(), disconnects)

    def flows(self) -> OAuthFlowService:
        """A flow service for what finds its own provider (callbacks, confirmations, status):
        the default's, else the first provider's; INTERNAL_ERROR without Cognito."""
        if self.oauth_services is not None:
            return self.oauth_services.flow
        for services in self.providers.values():
            return services.flow
        return self.oauth().flow
