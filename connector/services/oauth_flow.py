"""The connection flow: /connect builds a PKCE authorization request; /callback completes it."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from connector.domain.models import Connection
from connector.domain.oauth import FlowState, FlowStatus
from connector.domain.ports import Cache, Cipher, Clock, IdentityProvider, TokenVerifier
from connector.errors import (
    CacheUnavailableError,
    ConnectorError,
    ErrorCode,
    InvalidGrantError,
    InvalidStateError,
    OAuthProtocolError,
    OperationFailedError,
    UpstreamUnavailableError,
    ValidationError,
)
from connector.services.connections import ConnectionService

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
_STATE_SHAPE = re.compile(r"[A-Za-z0-9_\-]{43}")
_state_decoder = msgspec.json.Decoder(FlowState)
T = TypeVar("T")


def _state_key(state: str) -> str:
    return f"oauth:state:{state}"


def _status_key(state: str) -> str:
    return f"oauth:status:{state}"


class FlowStart(msgspec.Struct, frozen=True):
    auth_url: str
    state: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """How a callback ended once its state was consumed: a connection, or an error to report
    to the flow's return URL (which is only trusted because the state was valid)."""

    state: str
    redirect_uri: str | None
    connection: Connection | None = None
    error: ConnectorError | None = None


def pkce_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuthFlowService:
    """Single-use, expiring state bound to user, PKCE verifier, nonce and return URL."""

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
    ) -> None:
        self._provider = provider
        self._verifier = verifier
        self._connections = connections
        self._cache = cache
        self._cipher = cipher
        self._clock = clock
        self._allowlist = frozenset(redirect_allowlist)

    async def start(self, user_id: str, redirect_uri: str | None) -> FlowStart:
        """A Hosted UI URL for this user; `redirect_uri` must be on the allow-list, verbatim."""
        if redirect_uri is not None and redirect_uri not in self._allowlist:
            raise ValidationError(
                "redirect_uri is not in CONNECTOR_REDIRECT_ALLOWLIST (compared exactly)",
                details={"field": "redirect_uri"},
            )
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        now = self._clock.now()
        record = FlowState(
            user_id=user_id,
            code_verifier=self._cipher.seal(verifier),
            nonce=nonce,
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
        ttl = STATE_TTL.total_seconds()
        await self._strict(self._cache.set(_state_key(state), msgspec.json.encode(record), ttl=ttl))
        await self._strict(
            self._cache.set(_status_key(state), FlowStatus.PENDING.encode(), ttl=ttl)
        )
        url = self._provider.authorization_url(
            state=state, nonce=nonce, code_challenge=pkce_challenge(verifier)
        )
        return FlowStart(auth_url=url, state=state, expires_at=record.expires_at)

    async def status(self, state: str) -> FlowStatus:
        """pending / completed / failed; unknown or expired states read `expired`."""
        if not _STATE_SHAPE.fullmatch(state):
            return FlowStatus.EXPIRED
        raw = await self._strict(self._cache.get(_status_key(state)))
        return FlowStatus(raw.decode()) if raw else FlowStatus.EXPIRED

    async def complete(
        self,
        state: str,
        *,
        code: str | None,
        upstream_error: str | None = None,
        expected_user: str | None = None,
    ) -> CallbackOutcome:
        """Consume the state (atomically: one caller ever wins) and finish the flow.

        Raises InvalidStateError when the state is unknown, expired, reused or malformed (no
        return URL can be trusted then). Every later failure burns the state, marks the flow
        `failed` and comes back in the outcome.
        """
        record = await self._consume(state)
        try:
            connection = await self._finish(record, code, upstream_error, expected_user)
        except ConnectorError as error:
            await self._set_status(state, FlowStatus.FAILED, record)
            log.info("oauth callback failed for %r: %s", record.user_id, error.error_code)
            return CallbackOutcome(state=state, redirect_uri=record.redirect_uri, error=error)
        await self._set_status(state, FlowStatus.COMPLETED, record)
        return CallbackOutcome(state=state, redirect_uri=record.redirect_uri, connection=connection)

    async def _consume(self, state: str) -> FlowState:
        if not _STATE_SHAPE.fullmatch(state):
            raise InvalidStateError("unknown, expired or already used state")
        raw = await self._strict(self._cache.pop(_state_key(state)))
        if raw is None:
            raise InvalidStateError("unknown, expired or already used state")
        record = _state_decoder.decode(raw)
        if self._clock.now() >= record.expires_at:
            raise InvalidStateError("unknown, expired or already used state")
        return record

    async def _finish(
        self,
        record: FlowState,
        code: str | None,
        upstream_error: str | None,
        expected_user: str | None,
    ) -> Connection:
        if expected_user is not None and expected_user != record.user_id:
            raise InvalidStateError("this state belongs to another user")
        if upstream_error is not None:
            raise OperationFailedError(
                ErrorCode.CALLBACK_FAILED,
                "Cognito refused the sign-in",
                details={"upstreamCode": upstream_error[:64], "retryable": False},
            )
        if not code:
            raise ValidationError("the callback carries no code", details={"field": "code"})
        try:
            grant = await self._provider.exchange_code(
                code, code_verifier=self._cipher.open(record.code_verifier)
            )
            if grant.id_token is None:
                raise OAuthProtocolError("invalid_response", "Cognito returned no ID token")
            claims = await self._verifier.verify_id_token(
                grant.id_token, nonce=record.nonce, access_token=grant.access_token
            )
            access = await self._verifier.verify_access_token(grant.access_token)
        except InvalidGrantError as exc:
            raise OperationFailedError(
                ErrorCode.CALLBACK_FAILED,
                "Cognito rejected the authorization code (invalid, used or expired)",
                details={"upstreamCode": "invalid_grant", "retryable": False},
            ) from exc
        if access.sub != claims.sub:
            raise OperationFailedError(
                ErrorCode.CALLBACK_FAILED, "the access and ID tokens name different users"
            )
        return await self._connections.connect(record.user_id, grant, claims, access.scopes)

    async def _set_status(self, state: str, status: FlowStatus, record: FlowState) -> None:
        left = (record.expires_at - self._clock.now()).total_seconds()
        try:
            await self._cache.set(_status_key(state), status.encode(), ttl=max(left, 1.0))
        except CacheUnavailableError:
            log.warning("could not record the flow status (cache unavailable)")

    @staticmethod
    async def _strict(operation: Awaitable[T]) -> T:
        """State must really be stored and consumed: without the cache, flows cannot run."""
        try:
            return await operation
        except CacheUnavailableError as exc:
            raise UpstreamUnavailableError(
                "the cache is unavailable; sign-in flows need it", retry_after=2
            ) from exc
