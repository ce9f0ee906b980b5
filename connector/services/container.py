"""The services the transport layer may call, as built by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import InternalError
from connector.services.agents import AgentAccess
from connector.services.api_keys import ApiKeyService
from connector.services.connections import ConnectionService
from connector.services.credentials import CredentialService
from connector.services.disconnect import DisconnectService
from connector.services.functions import FunctionService
from connector.services.health import HealthService
from connector.services.oauth_flow import OAuthFlowService
from connector.services.rate_limits import RateLimits
from connector.services.s3 import S3Service
from connector.services.tokens import TokenService


@dataclass(frozen=True, slots=True)
class OAuthServices:
    """Everything that needs Cognito (AWS calls need the user's identity-pool credentials);
    absent until Cognito is configured."""

    flow: OAuthFlowService
    tokens: TokenService
    disconnect: DisconnectService
    credentials: CredentialService
    s3: S3Service
    functions: FunctionService


@dataclass(frozen=True, slots=True)
class Services:
    """Handed to the API layer through the app state; one instance per process."""

    api_keys: ApiKeyService
    connections: ConnectionService
    health: HealthService
    rate_limits: RateLimits
    oauth_services: OAuthServices | None = None
    agent_access: AgentAccess | None = None
    """Who calls /mcp (built with the API keys and the store; user mode needs Cognito)."""

    def agents(self) -> AgentAccess:
        """The MCP callers' authentication, or INTERNAL_ERROR when it was not built."""
        if self.agent_access is None:
            raise InternalError("the MCP endpoint is not configured on this connector")
        return self.agent_access

    def oauth(self) -> OAuthServices:
        """The Cognito side, or INTERNAL_ERROR when Cognito is not configured."""
        if self.oauth_services is None:
            raise InternalError(
                "Cognito is not configured on this connector (AWS_COGNITO_DOMAIN is unset)"
            )
        return self.oauth_services
