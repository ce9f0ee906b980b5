"""The connection flow: /connect builds a PKCE authorization request; /callback completes it and
binds the sign-in to the app's user (CONNECTOR_IDENTITY_BINDING) before anything is stored."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from connector.domain.events import EventType
from connector.domain.models import Connection, SealedTokens
from connector.domain.oauth import (
    FlowRecord,
    FlowStart,
    FlowStatus,
    IdentityClaims,
    PendingGrant,
)
from connector.domain.ports import Cache, Cipher, Clock, IdentityProvider, TokenVerifier
from connector.errors import (
    CacheUnavailableError,
    ConnectorError,
    ErrorCode,
    IdentityMismatchError,
    InvalidGrantError,
    InvalidStateError,
    MissingUserIdError,
    OAuthProtocolError,
    OperationFailedError,
    UpstreamUnavailableError,
    ValidationError,
)
from connector.services.connections import ConnectionService
from connector.services.pending_grants import PendingGrants
from connector.services.single_flight import DistributedLock
from connector.settings import IdentityBinding

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
STATE_PATTERN = r"[A-Za-z0-9_\-]{43}"
"""A flow state and a confirmation: 32 random bytes, base64url (what `token_urlsafe(32)` makes)."""
_STATE_SHAPE = re.compile(STATE_PATTERN)
_CONFIRMATION_SHAPE = _STATE_SHAPE
# What Cognito may put in `error=` that is worth handing on to the app as `reason=`.
_REASON_SHAPE = re.compile(r"[a-z_]{1,64}")
LOGIN_HINT_PATTERN = r"[^\x00-\x1f\x7f]{1,256}"
_LOGIN_HINT_SHAPE = re.compile(LOGIN_HINT_PATTERN)
_SWEEP_LOCK = "lock:sweep:grants"
_record_decoder = msgspec.json.Decoder(FlowRecord)
_INVALID_STATE = "unknown, expired or already used state"
_INVALID_CONFIRMATION = "unknown, expired or already used confirmation"
T = TypeVar("T")


def _state_key(state: str) -> str:
    return f"oauth:state:{state}"


def _status_key(state: str) -> str:
    return f"oauth:status:{state}"


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """How a browser callback ended once its state was consumed: a connection, a confirmation
    for the app (binding `confirm`), or an error to report to the flow's return URL (which is
    only trusted because the state was valid)."""

    state: str
    redirect_uri: str | None
    connection: Connection | None = None
    confirmation: str | None = None
    error: ConnectorError | None = None


@dataclass(frozen=True, slots=True)
class _SignIn:
    """A verified code exchange: sealed tokens and what the ID token says."""

    tokens: SealedTokens
    claims: IdentityClaims
    scopes: tuple[str, ...]
    lifetime: int


def pkce_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def claimed_user(claims: IdentityClaims, claim: str) -> str | None:
    """The value of `claim` that names an app user, or None when the token gives none (an
    email counts only when verified)."""
    if claim == "sub":
        return claims.sub
    if claim == "cognito:username":
        return claims.username
    if claim == "email":
        return claims.email if claims.email_verified else None
    raise ValueError(f"not a binding claim: {claim}")


class OAuthFlowService:
    """Single-use, expiring state bound to the app's user, the API key, PKCE verifier, nonce
    and return URL; a verified sign-in is stored only once it is bound to that user.

    One instance signs in at one provider (the provider of `connections`). The flow record and
    the pending grant remember their provider, so whichever instance receives a callback or a
    confirmation hands it to the instance of that provider (`route`): one /callback URL serves
    every provider, and each checks its own tokens (the ID token's `iss` is its issuer)."""

    def __init__(
        self,
        *,
        provider: IdentityProvider,
        verifier: TokenVerifier,
        connections: ConnectionService,
        cache: Cache,
        cipher: Cipher,
        clock: Clock,
        redirect_allowlist: tuple[str, ...],
        binding: IdentityBinding | None = None,
    ) -> None:
        self._provider = provider
        self._verifier = verifier
        self._connections = connections
        self._cache = cache
        self._cipher = cipher
        self._clock = clock
        self._allowlist = frozenset(redirect_allowlist)
        self._binding = binding or IdentityBinding()
        self._grants = PendingGrants(cache, clock)
        self._sweep_lock = DistributedLock(cache)
        self.provider_name = connections.provider
        self._flows: Mapping[str, OAuthFlowService] = {self.provider_name: self}

    def route(self, flows: Mapping[str, OAuthFlowService]) -> None:
        """Every provider's flow service by name (this one's included), shared by all of them."""
        self._flows = flows

    def _flow_of(self, provider: str) -> OAuthFlowService:
        flow = self._flows.get(provider)
        if flow is None:
            raise OperationFailedError(
                ErrorCode.CALLBACK_FAILED,
                "the flow's provider is no longer configured on this connector",
                details={"provider": provider, "retryable": False},
            )
        return flow

    @property
    def binding(self) -> IdentityBinding:
        return self._binding

    async def start(
        self,
        user_id: str,
        redirect_uri: str | None,
        *,
        key_id: str | None,
        login_hint: str | None = None,
        replace: bool = False,
    ) -> FlowStart:
        """A Hosted UI URL for this user; `redirect_uri` must be on the allow-list, verbatim
        (and is required under binding `confirm`: the app confirms at its return URL)."""
        if redirect_uri is None and self._binding.mode == "confirm":
            raise ValidationError(
                "redirect_uri is required with CONNECTOR_IDENTITY_BINDING=confirm: the app "
                "confirms the sign-in at its return URL",
                details={"field": "redirect_uri", "identityBinding": "confirm"},
            )
        if redirect_uri is not None and redirect_uri not in self._allowlist:
            raise ValidationError(
                "redirect_uri is not in CONNECTOR_REDIRECT_ALLOWLIST (compared exactly)",
                details={"field": "redirect_uri"},
            )
        if login_hint is not None and not _LOGIN_HINT_SHAPE.fullmatch(login_hint):
            raise ValidationError(
                "loginHint: 1-256 characters without control characters",
                details={"field": "loginHint"},
            )
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        now = self._clock.now()
        record = FlowRecord(
            user_id=user_id,
            key_id=key_id,
            code_verifier=self._cipher.seal(verifier),
            nonce=nonce,
            redirect_uri=redirect_uri,
            replace=replace,
            provider=self.provider_name,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
        ttl = STATE_TTL.total_seconds()
        await _strict(self._cache.set(_state_key(state), msgspec.json.encode(record), ttl=ttl))
        await _strict(self._cache.set(_status_key(state), FlowStatus.PENDING.encode(), ttl=ttl))
        url = self._provider.authorization_url(
            state=state, nonce=nonce, code_challenge=pkce_challenge(verifier), login_hint=login_hint
        )
        return FlowStart(auth_url=url, state=state, expires_at=record.expires_at)

    async def status(self, state: str) -> FlowStatus:
        """pending / pending_confirmation / completed / failed; unknown states read `expired`."""
        if not _STATE_SHAPE.fullmatch(state):
            return FlowStatus.EXPIRED
        raw = await _strict(self._cache.get(_status_key(state)))
        return FlowStatus(raw.decode()) if raw else FlowStatus.EXPIRED

    async def finish_in_browser(
        self, state: str, *, code: str | None, upstream_error: str | None = None
    ) -> CallbackOutcome:
        """GET /callback: consume the state (atomically: one caller ever wins) and finish.

        Raises InvalidStateError when the state is unknown, expired, reused or malformed (no
        return URL can be trusted then). Every later failure burns the state, marks the flow
        `failed`, revokes any tokens Cognito issued, and comes back in the outcome. Under
        binding `confirm` the outcome carries a confirmation instead of a connection."""
        record = await self._consume(state)
        try:
            flow = self._flow_of(record.provider)
            sign_in = await flow._sign_in(record, code, upstream_error)
            if self._binding.mode == "confirm":
                confirmation = await flow._hold(state, record, sign_in)
            else:
                connection = await flow._store(record.user_id, record.replace, sign_in)
        except ConnectorError as error:
            await self._set_status(state, FlowStatus.FAILED, record.expires_at)
            log.info("oauth callback failed: %s", error.error_code)
            return CallbackOutcome(state=state, redirect_uri=record.redirect_uri, error=error)
        if self._binding.mode == "confirm":
            await self._set_status(state, FlowStatus.PENDING_CONFIRMATION, record.expires_at)
            return CallbackOutcome(
                state=state, redirect_uri=record.redirect_uri, confirmation=confirmation
            )
        await self._set_status(state, FlowStatus.COMPLETED, record.expires_at)
        return CallbackOutcome(state=state, redirect_uri=record.redirect_uri, connection=connection)

    async def complete(
        self, state: str, *, code: str, key_id: str | None, user_id: str | None
    ) -> Connection:
        """POST /callback (apps that receive the code themselves): one step. Outside binding
        `none` the app names its user, who must be the flow's, with the key that started it.
        Any refusal burns the state."""
        record = await self._consume(state)
        try:
            if self._binding.mode != "none":
                if user_id is None:
                    raise MissingUserIdError(
                        "X-User-Id (userId) is required: name the app's signed-in user"
                    )
                _same_key(record.key_id, key_id, "flow")
            if user_id is not None and user_id != record.user_id:
                raise InvalidStateError("this state belongs to another user")
            flow = self._flow_of(record.provider)
            sign_in = await flow._sign_in(record, code, None)
            connection = await flow._store(record.user_id, record.replace, sign_in)
        except ConnectorError:
            await self._set_status(state, FlowStatus.FAILED, record.expires_at)
            raise
        await self._set_status(state, FlowStatus.COMPLETED, record.expires_at)
        return connection

    async def confirm(self, confirmation: str, *, key_id: str | None, user_id: str) -> Connection:
        """The app's signed-in user confirms a pending sign-in. The confirmation is consumed
        before anything is compared; a refusal drops the grant and revokes its tokens."""
        grant = await self._take(confirmation)
        flow = self._flows.get(grant.provider, self)
        try:
            _same_key(grant.key_id, key_id, "confirmation")
            if grant.user_id != user_id:
                await self._connections.record_event(
                    EventType.IDENTITY_MISMATCH, user_id, reason="user_mismatch"
                )
                raise IdentityMismatchError(
                    "the person who signed in at Cognito is not this app user: nothing was "
                    "stored and the sign-in was revoked",
                    details={"reason": "user_mismatch"},
                )
            sign_in = _SignIn(
                tokens=grant.tokens,
                claims=grant.claims,
                scopes=grant.scopes,
                lifetime=grant.token_lifetime,
            )
            connection = await self._flow_of(grant.provider)._store(
                grant.user_id, grant.replace, sign_in, revoke=False
            )
        except ConnectorError:
            await flow._revoke(grant.tokens.refresh_token)
            await self._set_status(grant.state, FlowStatus.FAILED, grant.flow_expires_at)
            raise
        await self._set_status(grant.state, FlowStatus.COMPLETED, grant.flow_expires_at)
        return connection

    async def reject(self, confirmation: str, *, key_id: str | None) -> None:
        """The app has no signed-in user for this sign-in: drop the grant, revoke its tokens."""
        grant = await self._take(confirmation)
        await self._flows.get(grant.provider, self)._revoke(grant.tokens.refresh_token)
        await self._set_status(grant.state, FlowStatus.FAILED, grant.flow_expires_at)
        _same_key(grant.key_id, key_id, "confirmation")

    async def sweep(self) -> int:
        """Revoke the grants nobody confirmed in time; one sweeper across replicas at a time.
        Returns how many were revoked (0 when another replica holds the sweep)."""
        owner = await self._sweep_lock.acquire(_SWEEP_LOCK)
        if owner is None:
            return 0
        try:
            expired = await self._grants.take_expired()
            for grant in expired:
                await self._flows.get(grant.provider, self)._revoke(grant.tokens.refresh_token)
                await self._set_status(grant.state, FlowStatus.FAILED, grant.flow_expires_at)
            if expired:
                log.info("revoked %d sign-ins that were never confirmed", len(expired))
            return len(expired)
        finally:
            await self._sweep_lock.release(_SWEEP_LOCK, owner)

    async def _consume(self, state: str) -> FlowRecord:
        if not _STATE_SHAPE.fullmatch(state):
            raise InvalidStateError(_INVALID_STATE)
        raw = await _strict(self._cache.pop(_state_key(state)))
        if raw is None:
            raise InvalidStateError(_INVALID_STATE)
        record = _record_decoder.decode(raw)
        if self._clock.now() >= record.expires_at:
            raise InvalidStateError(_INVALID_STATE)
        return record

    async def _take(self, confirmation: str) -> PendingGrant:
        grant = None
        if _CONFIRMATION_SHAPE.fullmatch(confirmation):
            grant = await _strict(self._grants.take(confirmation))
        if grant is None:
            raise InvalidStateError(_INVALID_CONFIRMATION)
        if self._clock.now() >= grant.expires_at:
            await self._flows.get(grant.provider, self)._revoke(grant.tokens.refresh_token)
            await self._set_status(grant.state, FlowStatus.FAILED, grant.flow_expires_at)
            raise InvalidStateError(_INVALID_CONFIRMATION)
        return grant

    async def _sign_in(
        self, record: FlowRecord, code: str | None, upstream_error: str | None
    ) -> _SignIn:
        """Exchange the code and verify both tokens."""
        if upstream_error is not None:
            details: dict[str, object] = {"upstreamCode": upstream_error[:64], "retryable": False}
            if _REASON_SHAPE.fullmatch(upstream_error):
                details["reason"] = upstream_error
            raise OperationFailedError(
                ErrorCode.CALLBACK_FAILED, "Cognito refused the sign-in", details=details
            )
        if not code:
            raise ValidationError("the callback carries no code", details={"field": "code"})
        try:
            grant = await self._provider.exchange_code(
                code, code_verifier=self._cipher.open(record.code_verifier)
            )
        except InvalidGrantError as exc:
            raise OperationFailedError(
                ErrorCode.CALLBACK_FAILED,
                "Cognito rejected the authorization code (invalid, used or expired)",
                details={"upstreamCode": "invalid_grant", "retryable": False},
            ) from exc
        tokens = None
        try:
            if grant.id_token is None:
                raise OAuthProtocolError("invalid_response", "Cognito returned no ID token")
            tokens = self._connections.seal(grant)
            claims = await self._verifier.verify_id_token(
                grant.id_token, nonce=record.nonce, access_token=grant.access_token
            )
            access = await self._verifier.verify_access_token(grant.access_token)
            if access.sub != claims.sub:
                raise OperationFailedError(
                    ErrorCode.CALLBACK_FAILED, "the access and ID tokens name different users"
                )
        except ConnectorError:
            # Issued but refused: nothing will use these tokens, so Cognito should not keep them.
            if grant.refresh_token is not None:
                await self._revoke(self._cipher.seal(grant.refresh_token))
            raise
        return _SignIn(
            tokens=tokens, claims=claims, scopes=access.scopes, lifetime=grant.expires_in
        )

    async def _hold(self, state: str, record: FlowRecord, sign_in: _SignIn) -> str:
        now = self._clock.now()
        grant = PendingGrant(
            state=state,
            user_id=record.user_id,
            key_id=record.key_id,
            replace=record.replace,
            provider=self.provider_name,
            tokens=sign_in.tokens,
            claims=sign_in.claims,
            scopes=sign_in.scopes,
            token_lifetime=sign_in.lifetime,
            created_at=now,
            expires_at=now + self._grants.expiry(),
            flow_expires_at=record.expires_at,
        )
        try:
            return await _strict(self._grants.hold(grant))
        except ConnectorError:
            await self._revoke(sign_in.tokens.refresh_token)
            raise

    async def _store(
        self, user_id: str, replace: bool, sign_in: _SignIn, *, revoke: bool = True
    ) -> Connection:
        """Bind (claim mode) and store; a refused or failed store revokes the new tokens when
        `revoke` (callers that revoke themselves pass False), and a replaced account's refresh
        token is revoked once the new connection is stored."""
        try:
            claim = self._binding.claim
            if claim is not None and claimed_user(sign_in.claims, claim) != user_id:
                await self._connections.record_event(
                    EventType.IDENTITY_MISMATCH, user_id, reason="claim_mismatch"
                )
                raise IdentityMismatchError(
                    f"the signed-in Cognito user's {claim} is not this app user id: nothing "
                    "was stored and the sign-in was revoked",
                    details={"reason": "claim_mismatch", "claim": claim},
                )
            connected = await self._connections.connect(
                user_id,
                sign_in.tokens,
                sign_in.claims,
                sign_in.scopes,
                lifetime=sign_in.lifetime,
                replace=replace,
            )
        except ConnectorError:
            if revoke:
                await self._revoke(sign_in.tokens.refresh_token)
            raise
        if connected.replaced is not None:
            log.info("a connection was replaced by another Cognito account; revoking the old one")
            await self._revoke(connected.replaced.tokens.refresh_token)
        return connected.connection

    async def _revoke(self, sealed_refresh_token: str | None) -> None:
        """Best effort: a revocation Cognito cannot take now is logged, never raised."""
        if sealed_refresh_token is None:
            return
        try:
            await self._provider.revoke(self._cipher.open(sealed_refresh_token))
        except ConnectorError as exc:
            log.warning("could not revoke a refresh token at Cognito: %s", exc.error_code)

    async def _set_status(self, state: str, status: FlowStatus, flow_expires_at: datetime) -> None:
        """The flow's status, kept until the flow itself would have expired."""
        left = (flow_expires_at - self._clock.now()).total_seconds()
        try:
            await self._cache.set(_status_key(state), status.encode(), ttl=max(left, 1.0))
        except CacheUnavailableError:
            log.warning("could not record the flow status (cache unavailable)")


def _same_key(expected: str | None, presented: str | None, what: str) -> None:
    if expected is not None and expected != presented:
        raise InvalidStateError(f"this {what} was started with another API key")


async def _strict(operation: Awaitable[T]) -> T:
    """State must really be stored and consumed: without the cache, flows cannot run."""
    try:
        return await operation
    except CacheUnavailableError as exc:
        raise UpstreamUnavailableError(
            "the cache is unavailable; sign-in flows need it", retry_after=2
        ) from exc
