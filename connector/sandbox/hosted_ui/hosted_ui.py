"""HostedUi: the stand-in's state, keys and counters, plus the hooks tests drive it with."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping
from typing import Any, Literal

from connector.sandbox.hosted_ui.authorize import AuthorizeRequest
from connector.sandbox.hosted_ui.clock import Clock
from connector.sandbox.hosted_ui.config import HostedUiConfig, SandboxUser
from connector.sandbox.hosted_ui.directory import InMemoryUserDirectory, UserDirectory
from connector.sandbox.hosted_ui.faults import Endpoint, FaultPlan
from connector.sandbox.hosted_ui.keys import KeySet, SigningKey
from connector.sandbox.hosted_ui.state import AuthorizationCode, TokenStore
from connector.sandbox.hosted_ui.stats import HostedUiStats
from connector.sandbox.hosted_ui.tokens import Grant, access_token_claims, id_token_claims, sign

KeyChoice = Literal["pool", "foreign"]


class HostedUi:
    """One user pool's Hosted UI. Serve it with `create_hosted_ui_app(hosted_ui)`."""

    def __init__(
        self,
        config: HostedUiConfig,
        *,
        keys: KeySet | None = None,
        directory: UserDirectory | None = None,
    ) -> None:
        self.config = config
        self.keys = keys or KeySet.generate()
        self.directory: UserDirectory = directory or InMemoryUserDirectory(config.users)
        self.clock: Clock = config.clock
        self.store = TokenStore()
        self.stats = HostedUiStats()
        self.faults = FaultPlan()

    def now(self) -> float:
        return self.clock()

    # -- test hooks -------------------------------------------------------------------------

    def set_clock(self, clock: Clock) -> None:
        """Replace the clock every expiry check and every `iat`/`exp` is computed from."""
        self.clock = clock

    def fail_next(
        self, endpoint: Endpoint, count: int = 1, *, status: int = 503, error: str | None = None
    ) -> None:
        """Make the next `count` requests to `endpoint` fail (503 text body, or `{"error"}`)."""
        self.faults.fail_next(endpoint, count, status=status, error=error)

    def fail_next_token_requests(
        self, count: int = 1, *, status: int = 503, error: str | None = None
    ) -> None:
        """Shorthand for `fail_next("token", ...)`: Cognito unreachable, or a chosen OAuth error."""
        self.fail_next("token", count, status=status, error=error)

    def revoke_user_tokens(self, username: str) -> int:
        """Revoke every refresh token of the user and the access tokens issued from them."""
        return self.store.revoke_user(username)

    def mint_id_token(
        self,
        user: SandboxUser | str | None = None,
        *,
        client_id: str | None = None,
        nonce: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        omit: Collection[str] = (),
        key: KeyChoice = "pool",
        kid: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """An ID token as /oauth2/token would issue it, then bent: `overrides` replace or add
        claims (`aud`, `iss`, `nonce`, `exp`...), `omit` drops claims, `key="foreign"` signs
        with an unpublished key under the pool's `kid` (a bad signature), `kid` sets the header."""
        grant = self._test_grant(user, client_id)
        claims = id_token_claims(
            grant,
            issuer=self.config.issuer,
            now=self.now(),
            ttl=self.config.id_token_ttl,
            nonce=nonce,
        )
        return self._bend(
            claims,
            self.keys.id_token_key,
            overrides=overrides,
            omit=omit,
            key=key,
            kid=kid,
            access_token=access_token,
        )

    def mint_access_token(
        self,
        user: SandboxUser | str | None = None,
        *,
        client_id: str | None = None,
        scopes: tuple[str, ...] | None = None,
        overrides: Mapping[str, Any] | None = None,
        omit: Collection[str] = (),
        key: KeyChoice = "pool",
        kid: str | None = None,
    ) -> str:
        """An access token, bent like `mint_id_token`. It belongs to no refresh token."""
        grant = self._test_grant(user, client_id, scopes)
        claims = access_token_claims(
            grant, issuer=self.config.issuer, now=self.now(), ttl=self.config.access_token_ttl
        )
        return self._bend(
            claims, self.keys.access_token_key, overrides=overrides, omit=omit, key=key, kid=kid
        )

    # -- used by the endpoints --------------------------------------------------------------

    def issue_code(self, request: AuthorizeRequest, user: SandboxUser) -> str:
        """A one-time code bound to the request and the signed-in user."""
        now = self.now()
        code = str(uuid.uuid4())
        self.store.add_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                username=user.username,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                auth_time=int(now),
                event_id=str(uuid.uuid4()),
                expires_at=now + self.config.authorization_code_ttl,
            ),
            now,
        )
        return code

    @staticmethod
    def new_refresh_token() -> str:
        return secrets.token_urlsafe(96)

    def _test_grant(
        self,
        user: SandboxUser | str | None,
        client_id: str | None,
        scopes: tuple[str, ...] | None = None,
    ) -> Grant:
        """A grant for minted tokens: the first configured client and user unless named."""
        default = self.config.clients[0] if self.config.clients else None
        client = self.config.client(client_id) if client_id else default
        return Grant(
            user=self._user(user),
            client_id=client_id or (client.client_id if client else "unknown-client"),
            scopes=scopes or (client.allowed_scopes if client else ("openid",)),
            auth_time=int(self.now()),
            origin_jti=str(uuid.uuid4()),
            event_id=str(uuid.uuid4()),
        )

    def _user(self, user: SandboxUser | str | None) -> SandboxUser:
        if isinstance(user, SandboxUser):
            return user
        for candidate in self.config.users:
            if user is None or candidate.username == user:
                return candidate
        if user is None:
            return SandboxUser(username="test-user", password="", email="test-user@example.com")
        raise ValueError(f"no configured user named {user!r}")

    def _bend(
        self,
        claims: dict[str, Any],
        pool_key: SigningKey,
        *,
        overrides: Mapping[str, Any] | None,
        omit: Collection[str],
        key: KeyChoice,
        kid: str | None,
        access_token: str | None = None,
    ) -> str:
        claims.update(overrides or {})
        for name in omit:
            claims.pop(name, None)
        signer = pool_key if key == "pool" else self.keys.foreign_key
        header_kid = kid or pool_key.kid
        if header_kid != signer.kid:
            signer = signer.renamed(header_kid)
        return sign(claims, signer, access_token=access_token)
