"""Frozen configuration of the stand-in: the user pool, its app clients, users and lifetimes."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from connector.sandbox.hosted_ui.clock import Clock, system_clock

STANDARD_SCOPES = frozenset(
    {"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}
)
"""The system-reserved scopes Cognito knows; custom scopes look like `<resource server>/<name>`."""
OIDC_ATTRIBUTE_SCOPES = frozenset({"email", "phone", "profile"})
"""Scopes Cognito accepts only together with `openid`."""
CODE_FLOW = "code"

_POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """A user of the pool who can sign in on the login page."""

    username: str
    password: str
    email: str
    sub: str = field(default_factory=lambda: str(uuid.uuid4()))
    email_verified: bool = True


@dataclass(frozen=True, slots=True)
class AppClient:
    """An app client of the pool. Without `client_secret` it is public (PKCE alone)."""

    client_id: str
    callback_urls: tuple[str, ...]
    """Matched exactly, as raw strings: no normalisation of case, port or trailing slash."""
    client_secret: str | None = None
    allowed_scopes: tuple[str, ...] = ("openid", "email", "profile")
    allowed_flows: tuple[str, ...] = (CODE_FLOW,)
    """Cognito's AllowedOAuthFlows; only `code` is implemented."""
    allow_refresh_token_auth: bool = True
    """Cognito's ALLOW_REFRESH_TOKEN_AUTH: without it the refresh grant is `unauthorized_client`."""
    require_pkce: bool = True
    """Refuse an authorize request without an S256 challenge (stricter than Cognito, on purpose)."""

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("AppClient.client_id must not be empty")
        if not self.callback_urls:
            raise ValueError(f"app client {self.client_id!r} needs at least one callback URL")
        unknown_flows = set(self.allowed_flows) - {CODE_FLOW}
        if unknown_flows:
            raise ValueError(f"unsupported OAuth flows {sorted(unknown_flows)}: only 'code'")

    @property
    def is_public(self) -> bool:
        return self.client_secret is None


@dataclass(frozen=True, slots=True)
class HostedUiConfig:
    """Everything the stand-in serves. `issuer_base_url` is where the app is reachable."""

    user_pool_id: str
    issuer_base_url: str
    """Public base URL of the stand-in, e.g. `http://127.0.0.1:9229` (served at its root)."""
    clients: tuple[AppClient, ...]
    users: tuple[SandboxUser, ...] = ()
    region: str = "us-east-1"
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * _DAY
    authorization_code_ttl: int = 300
    """Cognito's authorization codes are single-use and valid for five minutes."""
    rotate_refresh_tokens: bool = False
    """Refresh-token rotation: a refresh returns a new refresh token and retires the old one."""
    rotation_grace_seconds: int = 0
    """Cognito's RetryGracePeriodSeconds (0-60): how long a rotated-out token still works."""
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        if not _POOL_ID.match(self.user_pool_id):
            raise ValueError(f"user_pool_id {self.user_pool_id!r} is not like 'us-east-1_Example'")
        if not self.issuer_base_url.startswith(("http://", "https://")):
            raise ValueError("issuer_base_url must be an absolute http(s) URL")
        ids = [client.client_id for client in self.clients]
        if len(set(ids)) != len(ids):
            raise ValueError("app client ids must be unique")
        names = [user.username for user in self.users]
        if len(set(names)) != len(names):
            raise ValueError("usernames must be unique")
        if not 0 <= self.rotation_grace_seconds <= 60:
            raise ValueError("rotation_grace_seconds must be between 0 and 60")
        for ttl in (self.access_token_ttl, self.id_token_ttl, self.refresh_token_ttl):
            if ttl <= 0:
                raise ValueError("token lifetimes must be positive")

    @property
    def base_url(self) -> str:
        return self.issuer_base_url.rstrip("/")

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/{self.user_pool_id}"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    def client(self, client_id: str) -> AppClient | None:
        return next((c for c in self.clients if c.client_id == client_id), None)
