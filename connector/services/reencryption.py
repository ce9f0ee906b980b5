"""Rewrite every stored secret under the primary key after a key rotation."""

from __future__ import annotations

import logging

import msgspec

from connector.domain.models import Connection, SealedTokens
from connector.domain.ports import Cipher, ConnectionStore
from connector.domain.providers import DEFAULT_PROVIDER
from connector.errors import DecryptionError, VersionConflictError

log = logging.getLogger(__name__)
_CONFLICT_RETRIES = 3


class ReencryptReport(msgspec.Struct, frozen=True):
    """Counts of one run.

    `failed` lists users whose secrets no configured key opens, or whose stored record the store
    cannot read at all (never dropped: fix the keys or the record and re-run); `conflicted`
    lists users whose connection kept changing under the run (re-run).
    """

    scanned: int
    rewritten: int
    current: int
    failed: tuple[str, ...]
    conflicted: tuple[str, ...]


class Reencryptor:
    """Safe to interrupt and re-run: each connection is rewritten alone, with a version check."""

    def __init__(self, store: ConnectionStore, cipher: Cipher) -> None:
        self._store = store
        self._cipher = cipher

    async def run(self) -> ReencryptReport:
        scanned = rewritten = current = 0
        failed: list[str] = []
        conflicted: list[str] = []
        # A record the store cannot read at all is reported with those no key opens.
        async for connection in self._store.iterate(on_unreadable=failed.append):
            scanned += 1
            try:
                changed = await self._reencrypt(connection)
            except DecryptionError:
                log.error(
                    "reencrypt: no configured key opens the secrets of %r", _named(connection)
                )
                failed.append(_named(connection))
                continue
            except VersionConflictError:
                log.warning("reencrypt: %r kept changing; re-run to finish", _named(connection))
                conflicted.append(_named(connection))
                continue
            rewritten += changed
            current += not changed
        return ReencryptReport(scanned, rewritten, current, tuple(failed), tuple(conflicted))

    async def _reencrypt(self, connection: Connection) -> bool:
        """True if rewritten; re-reads and retries when a concurrent write got there first."""
        for _ in range(_CONFLICT_RETRIES):
            if self._is_current(connection.tokens):
                return False
            rotated = msgspec.structs.replace(connection, tokens=self._rotate(connection.tokens))
            try:
                await self._store.put(rotated, expected_version=connection.version)
            except VersionConflictError:
                fresh = await self._store.get(connection.user_id, connection.provider)
                if fresh is None:
                    return False
                connection = fresh
                continue
            return True
        raise VersionConflictError(f"user {connection.user_id!r} kept changing; re-run reencrypt")

    def _is_current(self, tokens: SealedTokens) -> bool:
        return all(self._cipher.is_current(s) for s in _secrets(tokens))

    def _rotate(self, tokens: SealedTokens) -> SealedTokens:
        return SealedTokens(
            access_token=self._cipher.rotate(tokens.access_token),
            id_token=self._cipher.rotate(tokens.id_token),
            refresh_token=self._cipher.rotate(tokens.refresh_token)
            if tokens.refresh_token
            else None,
        )


def _named(connection: Connection) -> str:
    """The user id, followed by `/provider` for a provider other than the default."""
    if connection.provider == DEFAULT_PROVIDER:
        return connection.user_id
    return f"{connection.user_id}/{connection.provider}"


def _secrets(tokens: SealedTokens) -> list[str]:
    return [s for s in (tokens.access_token, tokens.id_token, tokens.refresh_token) if s]
