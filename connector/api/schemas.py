"""Wire shapes (camelCase): views of domain objects that never carry a secret."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from connector.api.constraints import ConfirmationField, FlowStateField
from connector.domain.aws import AwsCredentials
from connector.domain.models import ApiKey, Connection
from connector.domain.oauth import FlowStart, TokenSet
from connector.services.disconnect import DisconnectResult


class Wire(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every wire struct: camelCase field names."""


class HealthChecks(Wire):
    database: Literal["ok", "down"]
    cache: Literal["ok", "down"]


class HealthData(Wire):
    status: Literal["ok", "degraded", "down"]
    version: str
    checks: HealthChecks


class ConnectionView(Wire):
    """A connection without its secrets. Unknown values are null, never absent."""

    user_id: str
    status: Literal["active", "reauth_required"]
    sub: str
    username: str | None
    email: str | None
    scopes: list[str]
    identity_id: str | None
    expires_at: datetime
    last_refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, connection: Connection) -> ConnectionView:
        return cls(
            user_id=connection.user_id,
            status=connection.status.value,
            sub=connection.sub,
            username=connection.username,
            email=connection.email,
            scopes=list(connection.scopes),
            identity_id=connection.identity_id,
            expires_at=connection.expires_at,
            last_refreshed_at=connection.last_refreshed_at,
            created_at=connection.created_at,
            updated_at=connection.updated_at,
        )


class ProviderConnectionView(ConnectionView):
    """One connection of the user in GET /connections: the fields of GET /connection and the
    provider it belongs to."""

    provider: str

    @classmethod
    def of(cls, connection: Connection) -> ProviderConnectionView:
        view = msgspec.structs.asdict(ConnectionView.of(connection))
        return cls(provider=connection.provider, **view)


class ConnectionsData(Wire):
    connections: list[ProviderConnectionView]
    """One view per provider the user is connected to (and the key may act on), by name."""


class ApiKeyView(Wire, omit_defaults=False):
    """An API key as `connector keys create|list` prints it; `key` only at creation."""

    id: str
    name: str
    scopes: list[str]
    buckets: list[str]
    functions: list[str]
    read_only: bool
    role: str | None
    created_at: datetime
    revoked_at: datetime | None
    providers: list[str] | msgspec.UnsetType = msgspec.UNSET
    """The providers the key may act on; absent: every provider."""

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(
            id=key.id,
            name=key.name,
            scopes=sorted(s.value for s in key.scopes),
            buckets=list(key.buckets),
            functions=list(key.functions),
            read_only=key.read_only,
            role=key.role,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            providers=list(key.providers) if key.providers else msgspec.UNSET,
        )


class CreatedApiKey(Wire):
    """`keys create` output: the only time the raw key is ever shown."""

    @classmethod
    def of(cls, key: ApiKey, raw_key: str) -> CreatedApiKey:
        view = msgspec.structs.asdict(ApiKeyView.of(key))
        del view["revoked_at"]
        return cls(key=raw_key, **view)

    id: str
    name: str
    key: str
    scopes: list[str]
    buckets: list[str]
    functions: list[str]
    read_only: bool
    role: str | None
    created_at: datetime
    providers: list[str] | msgspec.UnsetType = msgspec.UNSET


class FlowStartData(Wire):
    """A started flow: send the browser to `authUrl`; `state` names the flow."""

    auth_url: str
    state: str
    expires_at: datetime

    @classmethod
    def of(cls, start: FlowStart) -> FlowStartData:
        return cls(auth_url=start.auth_url, state=start.state, expires_at=start.expires_at)


class FlowStatusData(Wire):
    state: str
    status: Literal["pending", "pending_confirmation", "completed", "failed", "expired"]


class CallbackBody(Wire):
    code: Annotated[str, msgspec.Meta(extra_json_schema={"extra": {"minLength": 1}})]
    state: FlowStateField


class ConfirmationBody(Wire):
    """The one-time `confirmation` the browser brought back to the app's return URL."""

    confirmation: ConfirmationField


class RejectedData(Wire):
    rejected: Literal[True]


class ProviderDisconnectData(Wire):
    provider: str
    revoked: bool


class DisconnectData(Wire):
    disconnected: bool
    revoked: bool
    """With `all=true`: Cognito accepted the revocation of every connection there was."""
    providers: list[ProviderDisconnectData] | msgspec.UnsetType = msgspec.UNSET
    """With `all=true` only: each provider the user was disconnected from."""

    @classmethod
    def of(cls, result: DisconnectResult) -> DisconnectData:
        return cls(disconnected=result.disconnected, revoked=result.revoked)

    @classmethod
    def of_all(cls, results: Mapping[str, DisconnectResult]) -> DisconnectData:
        return cls(
            disconnected=True,
            revoked=bool(results) and all(r.revoked for r in results.values()),
            providers=[
                ProviderDisconnectData(provider=name, revoked=result.revoked)
                for name, result in results.items()
            ],
        )


class TokenData(Wire):
    access_token: str
    token_type: Literal["Bearer"]
    expires_at: datetime
    scopes: list[str]

    @classmethod
    def of(cls, tokens: TokenSet) -> TokenData:
        return cls(
            access_token=tokens.access_token,
            token_type="Bearer",  # noqa: S106 - the token type, not a secret
            expires_at=tokens.expires_at,
            scopes=list(tokens.scopes),
        )


class CredentialsData(Wire):
    """A user's temporary AWS credentials: exactly the contract's five fields."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    identity_id: str

    @classmethod
    def of(cls, credentials: AwsCredentials) -> CredentialsData:
        return cls(
            access_key_id=credentials.access_key_id,
            secret_access_key=credentials.secret_access_key,
            session_token=credentials.session_token,
            expiration=credentials.expiration,
            identity_id=credentials.identity_id,
        )
