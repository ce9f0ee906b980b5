"""The user's connection: read it, its Cognito token, its AWS credentials; disconnect."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import QueryParameter

from connector.api.dependencies import (
    ACTING_FOR_USER,
    Caller,
    OAuthDep,
    ProviderName,
    RequestedProvider,
    ServicesDep,
    UserId,
    acting_on,
)
from connector.api.envelope import ApiResponse, ok
from connector.api.guards import SECURITY, authenticated, names_user, requires
from connector.api.responses import as_user_responses, error_responses
from connector.api.schemas import (
    ConnectionsData,
    ConnectionView,
    CredentialsData,
    DisconnectData,
    ProviderConnectionView,
    TokenData,
)
from connector.domain.models import Scope
from connector.errors import ErrorCode, ValidationError

AllFlag = Annotated[
    bool,
    QueryParameter(
        name="all",
        description="Disconnect every provider the key may act on (not with `provider`).",
    ),
]


class ConnectionController(Controller):
    path = "/"
    tags = ["connection"]
    security = SECURITY
    guards = [authenticated, names_user]
    dependencies = ACTING_FOR_USER

    @get(
        "/connection",
        operation_id="getConnection",
        guards=[requires(Scope.CONNECTION_READ)],
        responses=error_responses(ErrorCode.MISSING_USER_ID, ErrorCode.NOT_CONNECTED),
    )
    async def get_connection(
        self, services: ServicesDep, user_id: UserId, provider_name: ProviderName
    ) -> ApiResponse[ConnectionView]:
        """The user's connection with `provider`: status, identity, scopes and token expiry —
        never a token."""
        connection = await services.connections_of(provider_name).get(user_id)
        return ok(ConnectionView.of(connection))

    @get(
        "/connections",
        operation_id="listConnections",
        guards=[requires(Scope.CONNECTION_READ)],
        responses=error_responses(ErrorCode.MISSING_USER_ID),
    )
    async def list_connections(
        self, services: ServicesDep, user_id: UserId, caller: Caller
    ) -> ApiResponse[ConnectionsData]:
        """Every connection of the user: one view per provider they are connected to (among
        the providers the key may act on), with the fields of GET /connection and `provider`."""
        connections = await services.user_connections().list(user_id, caller)
        return ok(ConnectionsData(connections=[ProviderConnectionView.of(c) for c in connections]))

    @post(
        "/disconnect",
        operation_id="disconnect",
        status_code=200,
        guards=[requires(Scope.CONNECT)],
        responses=error_responses(ErrorCode.MISSING_USER_ID),
    )
    async def disconnect(
        self,
        user_id: UserId,
        services: ServicesDep,
        caller: Caller,
        requested_provider: RequestedProvider,
        all_providers: AllFlag = False,
    ) -> ApiResponse[DisconnectData]:
        """Revoke the refresh token at Cognito, delete the connection and every cached item.
        Idempotent; `revoked` says whether Cognito accepted the revocation. `provider` names
        the connection (absent: the default provider's); `all=true` disconnects every provider
        the key may act on and lists them in `providers`."""
        if not all_providers:
            oauth = services.oauth(acting_on(services.resolve_provider(requested_provider, caller)))
            return ok(DisconnectData.of(await oauth.disconnect.disconnect(user_id)))
        if requested_provider is not None:
            raise ValidationError("give provider or all=true, not both", details={"field": "all"})
        results = await services.user_connections().disconnect_all(user_id, caller)
        return ok(DisconnectData.of_all(results))

    @get(
        "/token",
        operation_id="getToken",
        guards=[requires(Scope.TOKEN_READ)],
        responses=error_responses(
            ErrorCode.MISSING_USER_ID,
            ErrorCode.NOT_CONNECTED,
            ErrorCode.REAUTH_REQUIRED,
            ErrorCode.UPSTREAM_UNAVAILABLE,
        ),
    )
    async def get_token(self, user_id: UserId, oauth: OAuthDep) -> ApiResponse[TokenData]:
        """A Cognito access token that is not about to expire (refreshed first when it is).
        Needs the `token:read` scope, which keys only get when it is asked for by name."""
        return ok(TokenData.of(await oauth.tokens.get_tokens(user_id)))

    @get(
        "/credentials",
        operation_id="getCredentials",
        guards=[requires(Scope.CREDENTIALS_READ)],
        responses=as_user_responses(),
    )
    async def get_credentials(
        self, user_id: UserId, caller: Caller, oauth: OAuthDep
    ) -> ApiResponse[CredentialsData]:
        """Temporary AWS credentials of the user's Cognito identity, re-minted before they
        expire (never handed out in their last sixth of life). Needs the `credentials:read`
        scope, which keys only get when it is asked for by name. A key with a bucket/function
        policy or read-only gets credentials narrowed by an STS session policy."""
        credentials = await oauth.credentials.get_credentials(user_id, key=caller, vended=True)
        return ok(CredentialsData.of(credentials))
