"""A user's connections across providers: GET /connections and POST /disconnect all=true."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from connector.domain.models import ApiKey, Connection
from connector.errors import InternalError, NotConnectedError
from connector.services.connections import ConnectionService
from connector.services.disconnect import DisconnectResult, DisconnectService


class UserConnections:
    """Acts on every configured provider the caller's key covers (a key without providers
    covers them all); one provider's failure is the request's failure, as for one provider."""

    def __init__(
        self,
        connections: ConnectionService,
        providers: tuple[str, ...],
        disconnects: Mapping[str, DisconnectService],
    ) -> None:
        self._connections = connections
        self._providers = providers
        self._disconnects = disconnects

    def _covered(self, key: ApiKey) -> list[str]:
        return [p for p in self._providers if not key.providers or p in key.providers]

    async def list(self, user_id: str, key: ApiKey) -> list[Connection]:
        """The user's connection with each provider, in provider name order."""
        found = await asyncio.gather(
            *(self._one(user_id, provider) for provider in self._covered(key))
        )
        return [connection for connection in found if connection is not None]

    async def _one(self, user_id: str, provider: str) -> Connection | None:
        try:
            return await self._connections.for_provider(provider).get(user_id)
        except NotConnectedError:
            return None

    async def disconnect_all(self, user_id: str, key: ApiKey) -> dict[str, DisconnectResult]:
        """Disconnect the user from every covered provider they are connected to (revoked at
        each one's Cognito); the providers they were not connected to are left out."""
        if not self._disconnects:
            raise InternalError(
                "Cognito is not configured on this connector (AWS_COGNITO_DOMAIN is unset)"
            )
        connected = [c.provider for c in await self.list(user_id, key)]
        results = await asyncio.gather(
            *(self._disconnects[provider].disconnect(user_id) for provider in connected)
        )
        return dict(zip(connected, results, strict=True))
