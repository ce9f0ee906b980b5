"""Who an MCP caller is and for whom it acts: an API key naming a user (service mode), or a
Cognito access token of the user's own (user mode), resolved to the key that bounds its calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from connector.domain.identifiers import parse_user_id
from connector.domain.models import ApiKey, Scope
from connector.domain.ports import Clock, ConnectionStore, TokenVerifier
from connector.errors import (
    AuthenticationError,
    ConnectorError,
    IdentityMismatchError,
    NotConnectedError,
    PermissionDeniedError,
    TokenVerificationError,
)
from connector.services.api_keys import ApiKeyService

READ_SCOPES = frozenset({Scope.CONNECTION_READ, Scope.S3_READ, Scope.LAMBDA_READ})
WRITE_SCOPES = frozenset({Scope.S3_WRITE, Scope.LAMBDA_INVOKE})
HOW_TO_CONNECT = (
    "sign in to the app that uses this connector and connect your AWS account there"
    " (the app sends you through GET /connect), then call the tool again"
)


@dataclass(frozen=True, slots=True)
class Agent:
    """An authenticated MCP caller."""

    mode: Literal["service", "user"]
    key: ApiKey
    """Whose scopes and bucket/function policy bound every call (in user mode, the policy key
    narrowed to the token's scopes, or a key made of the token's scopes alone)."""
    user_id: str | None
    """The app user acted for; None when `refusal` says why there is none."""
    refusal: ConnectorError | None = None
    """Why no user can be acted for (a missing X-User-Id, no connection): every tool call
    answers it, while listing tools still works."""
    client_id: str | None = None
    """User mode: the Cognito app client the agent signed in with."""

    def acting_for(self) -> str:
        """The user id, or the refusal."""
        if self.user_id is None:
            raise self.refusal or NotConnectedError(HOW_TO_CONNECT)
        return self.user_id


@dataclass(frozen=True, slots=True)
class UserModePolicy:
    """What user mode accepts (from `McpSettings`)."""

    client_ids: frozenset[str]
    read_scope: str
    write_scope: str
    policy_key_id: str | None = None


class AgentAccess:
    """Authenticates MCP callers. Nothing here is passed on: an access token is verified and
    dropped; AWS calls use the stored connection's own tokens."""

    def __init__(
        self,
        *,
        api_keys: ApiKeyService,
        connections: ConnectionStore,
        verifier: TokenVerifier | None,
        user_mode: UserModePolicy | None,
        clock: Clock,
    ) -> None:
        self._api_keys = api_keys
        self._connections = connections
        self._verifier = verifier
        self._user_mode = user_mode if verifier is not None else None
        self._clock = clock

    @property
    def user_mode(self) -> UserModePolicy | None:
        """None when user mode is off (no Cognito, or no client ids configured)."""
        return self._user_mode

    async def as_service(self, presented_key: str | None, user_header: str | None) -> Agent:
        """An API key (UNAUTHORIZED otherwise) and X-User-Id, validated as on REST."""
        key = await self._api_keys.authenticate(presented_key)
        try:
            return Agent(mode="service", key=key, user_id=parse_user_id(user_header))
        except ConnectorError as refusal:
            return Agent(mode="service", key=key, user_id=None, refusal=refusal)

    async def as_user(self, token: str) -> Agent:
        """A Cognito access token of an accepted client with a resource-server scope
        (UNAUTHORIZED / FORBIDDEN otherwise), acting for the one connection of its `sub`."""
        policy = self._user_mode
        if policy is None or self._verifier is None:
            raise AuthenticationError("user mode is not enabled here: use an API key")
        try:
            claims = await self._verifier.verify_access_token(token, client_ids=policy.client_ids)
        except TokenVerificationError as exc:
            raise AuthenticationError(f"the access token was refused: {exc.message}") from None
        granted = _granted(claims.scopes, policy)
        if not granted:
            raise PermissionDeniedError(
                f"the access token carries neither {policy.read_scope} nor {policy.write_scope}",
                details={"requiredScope": policy.read_scope},
            )
        key = await self._bounding_key(policy, claims.client_id, granted)
        user_id, refusal = await self._connection_of(claims.sub)
        return Agent(
            mode="user",
            key=key,
            user_id=user_id,
            refusal=refusal,
            client_id=claims.client_id,
        )

    async def _bounding_key(
        self, policy: UserModePolicy, client_id: str, granted: frozenset[Scope]
    ) -> ApiKey:
        if policy.policy_key_id is not None:
            base = await self._api_keys.active(policy.policy_key_id)
            return ApiKey(
                id=base.id,
                name=base.name,
                key_hash=base.key_hash,
                scopes=base.scopes & granted,
                buckets=base.buckets,
                functions=base.functions,
                read_only=base.read_only,
                created_at=base.created_at,
            )
        return ApiKey(
            id=f"mcp-client:{client_id}",
            name=f"MCP client {client_id}",
            key_hash="",
            scopes=granted,
            buckets=(),
            functions=(),
            read_only=Scope.S3_WRITE not in granted,
            created_at=self._clock.now(),
        )

    async def _connection_of(self, sub: str) -> tuple[str | None, ConnectorError | None]:
        """The user id of the one connection holding this Cognito account."""
        found = await self._connections.find_by_sub(sub, limit=2)
        if not found:
            return None, NotConnectedError(
                f"no connection holds your Cognito account: {HOW_TO_CONNECT}"
            )
        if len(found) > 1:
            return None, IdentityMismatchError(
                "your Cognito account is connected for more than one app user, so user mode"
                " cannot tell which to act for: disconnect the others in the app, or have the"
                " agent platform call in service mode",
                details={"reason": "several_connections"},
            )
        return found[0].user_id, None


def _granted(token_scopes: tuple[str, ...], policy: UserModePolicy) -> frozenset[Scope]:
    granted: set[Scope] = set()
    if policy.read_scope in token_scopes:
        granted |= READ_SCOPES
    if policy.write_scope in token_scopes:
        granted |= WRITE_SCOPES
    return frozenset(granted)
