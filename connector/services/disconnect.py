"""Disconnect: revoke at Cognito, delete the connection, purge the user's cache entries."""

from __future__ import annotations

import logging

import msgspec

from connector.domain.ports import IdentityProvider
from connector.errors import ConnectorError, InternalError, NotConnectedError
from connector.services.connections import ConnectionService
from connector.services.credentials import CredentialService

log = logging.getLogger(__name__)


class DisconnectResult(msgspec.Struct, frozen=True):
    disconnected: bool
    revoked: bool


class DisconnectService:
    """Idempotent; the local delete happens even when Cognito cannot be reached."""

    def __init__(
        self,
        connections: ConnectionService,
        provider: IdentityProvider,
        *,
        credentials: CredentialService | None = None,
    ) -> None:
        self._connections = connections
        self._provider = provider
        self._credentials = credentials

    async def disconnect(self, user_id: str) -> DisconnectResult:
        revoked = False
        try:
            connection = await self._connections.get_from_store(user_id)
        except NotConnectedError:
            connection = None
        except InternalError as exc:
            # An unreadable record (corrupted, or sealed under a key no longer configured):
            # nothing to revoke with, but the user asked to be forgotten.
            log.warning("the stored connection of %r is unreadable (%s); deleting it", user_id, exc)
            connection = None
        if connection is not None and connection.tokens.refresh_token:
            try:
                refresh = self._connections.open_tokens(connection).refresh_token
                if refresh:
                    revoked = await self._provider.revoke(refresh)
            except ConnectorError as exc:
                log.warning(
                    "revocation for %r failed (%s); deleting locally", user_id, exc.error_code
                )
        await self._connections.delete(user_id)
        if self._credentials is not None:
            await self._credentials.forget(user_id)
        return DisconnectResult(disconnected=True, revoked=revoked)
