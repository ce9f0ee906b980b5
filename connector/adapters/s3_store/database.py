"""S3Database: the s3:// store of connections and API keys, checked at start-up."""

from __future__ import annotations

import secrets

from connector.adapters.aws_clients import AwsClients
from connector.adapters.s3_store.api_key_store import S3ApiKeyStore
from connector.adapters.s3_store.connection_store import S3ConnectionStore
from connector.adapters.s3_store.layout import VARIABLE, S3Layout, object_key
from connector.adapters.s3_store.objects import S3Objects
from connector.adapters.s3_store.outbox import S3Outbox
from connector.domain.ports import Outbox
from connector.errors import ConfigurationError, ConnectorError, VersionConflictError

CONDITIONAL_WRITES_VARIABLE = "CONNECTOR_DATABASE_CONDITIONAL_WRITES"
# Every request reads its API key from the store: more than botocore's default 10 connections.
POOL_CONNECTIONS = 20
# A quoted string that is not an MD5 or a multipart ETag: no object ever carries it.
_FOREIGN_ETAG = '"connector-probe"'


class S3Database:
    """One boto3 client on the service's own credentials (default chain) and its thread pool;
    `connections` and `api_keys` are the stores built on it."""

    def __init__(self, objects: S3Objects) -> None:
        self._objects = objects
        self.layout = objects.layout
        outbox = S3Outbox(objects)
        self.connections = S3ConnectionStore(objects, outbox)
        outbox.recover_with(self.connections.recover)
        self.api_keys = S3ApiKeyStore(objects)
        self.outbox: Outbox | None = outbox

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        region: str,
        kms_key_id: str | None = None,
        conditional_writes: bool = True,
        clients: AwsClients | None = None,
    ) -> S3Database:
        """The store at `url`, checked (ConfigurationError saying what to fix). It owns its
        AWS plumbing (`clients`, or its own pool sized for the store) and closes it on failure."""
        clients = clients or AwsClients(region=region, max_pool_connections=POOL_CONNECTIONS)
        try:
            layout = S3Layout.from_url(url)
            database = cls(
                S3Objects(
                    clients,
                    layout,
                    kms_key_id=kms_key_id,
                    conditional_writes=conditional_writes,
                )
            )
            await database.check()
        except BaseException:
            clients.close()
            raise
        return database

    async def check(self) -> None:
        """Start-up: the bucket answers under the prefix, and the endpoint honours conditional
        writes unless they were switched off. Failures name the variable to fix."""
        try:
            await self._objects.check_bucket()
            if self._objects.conditional_writes:
                await self._check_conditional_writes()
        except ConnectorError as exc:
            raise ConfigurationError(VARIABLE, exc.message) from exc

    async def ping(self) -> None:
        """Raise unless the bucket answers a listing under the prefix."""
        await self._objects.check_bucket()

    async def close(self) -> None:
        """Stop the thread pool and close the client (closing twice is harmless)."""
        self._objects.close()

    async def _check_conditional_writes(self) -> None:
        # An endpoint that ignores If-None-Match / If-Match would let two replicas overwrite
        # each other's refresh in silence: find out now, on a throwaway object of our own.
        probe = object_key(self.layout.probes, secrets.token_hex(8))
        await self._objects.put(probe, b"{}", if_match=None)
        try:
            for condition in (None, _FOREIGN_ETAG):
                try:
                    await self._objects.put(probe, b"{}", if_match=condition)
                except VersionConflictError:
                    continue
                header = "If-None-Match" if condition is None else "If-Match"
                raise ConfigurationError(
                    CONDITIONAL_WRITES_VARIABLE,
                    f"the S3 endpoint ignored {header}: it has no conditional writes; use one"
                    f" that has, or set {CONDITIONAL_WRITES_VARIABLE}=false to accept the"
                    " fallback's race between replicas (README: 'Keeping connections in S3')",
                )
        finally:
            await self._objects.delete(probe)
