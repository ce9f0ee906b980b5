"""The composition root: picks adapters from settings and builds every service once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from connector.domain.ports import ApiKeyStore, Cache, Cipher, Clock, ConnectionStore
from connector.errors import ConfigurationError
from connector.services.acting import ActingAsUser
from connector.services.api_keys import ApiKeyService
from connector.services.clock import SystemClock
from connector.services.connections import ConnectionService
from connector.services.container import OAuthServices, Services
from connector.services.credentials import CredentialService
from connector.services.disconnect import DisconnectService
from connector.services.functions import FunctionService
from connector.services.health import HealthService
from connector.services.oauth_flow import OAuthFlowService
from connector.services.outage_log import OutageLog
from connector.services.periodic import every
from connector.services.process_layer import ProcessLayer
from connector.services.reencryption import Reencryptor
from connector.services.s3 import S3Service
from connector.services.single_flight import DistributedLock
from connector.services.tokens import TokenService
from connector.services.tolerant_cache import TolerantCache
from connector.settings import CognitoSettings, Settings

# Adapters are imported where they are picked, not here: each CLI command then loads only the
# SDKs it uses (`keys list` loads SQLAlchemy, not boto3, redis or Litestar), which keeps
# `connector --help` and the one-shot commands fast.
if TYPE_CHECKING:
    import httpx

    from connector.adapters.aws_clients import AwsClients

log = logging.getLogger(__name__)
# boto3 needs a region even when neither Cognito nor boto3's configuration names one.
DEFAULT_AWS_REGION = "us-east-1"
# Pending sign-ins live 60 s: a sweep every 10 s revokes an abandoned one within 70 s.
SWEEP_INTERVAL = 10.0


def aws_region(settings: Settings) -> str:
    """Cognito's region (AWS_REGION, required with Cognito), else boto3's configured one
    (AWS_DEFAULT_REGION or the config file), else us-east-1."""
    if settings.cognito:
        return settings.cognito.region
    from connector.adapters.aws_clients import configured_region  # noqa: PLC0415

    return configured_region(DEFAULT_AWS_REGION)


def build_cipher(settings: Settings) -> Cipher:
    """MultiFernet over the configured keys, or the development key file (with a warning)."""
    from connector.adapters.crypto import FernetCipher, load_or_create_dev_key  # noqa: PLC0415

    keys = settings.encryption.keys
    if not keys:
        keys = (load_or_create_dev_key(Path(settings.encryption.dev_key_file)),)
    return FernetCipher(keys)


class Database(Protocol):
    """What the composition root needs of a store of record (SqlDatabase, S3Database)."""

    @property
    def connections(self) -> ConnectionStore: ...

    @property
    def api_keys(self) -> ApiKeyStore: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def open_database(settings: Settings) -> Database:
    """The S3 store, checked; or the SQL database, migrated when auto-migration is on, else
    checked to be at head."""
    timeout = settings.deadlines.database_seconds
    if settings.database.is_s3:
        from connector.adapters.s3_store import S3Database  # noqa: PLC0415
        from connector.adapters.s3_store.database import (  # noqa: PLC0415
            POOL_CONNECTIONS as S3_STORE_CONNECTIONS,
        )

        region = aws_region(settings)
        # The service's own credentials (boto3's default chain), never a user's.
        return await S3Database.open(
            settings.database.url,
            region=region,
            kms_key_id=settings.database.s3.kms_key_id,
            conditional_writes=settings.database.s3.conditional_writes,
            clients=_aws_clients(
                region, max_pool_connections=S3_STORE_CONNECTIONS, deadline=timeout
            ),
        )
    from connector.adapters.sql import SqlDatabase  # noqa: PLC0415

    database = SqlDatabase.from_url(settings.database.url, timeout=timeout)
    try:
        if settings.database.auto_migrate:
            await database.migrate()
        elif not await database.is_at_head():
            raise ConfigurationError(
                "CONNECTOR_DATABASE_URL", "the schema is not up to date: run `connector migrate`"
            )
    except BaseException:
        await database.close()
        raise
    return database


def _aws_clients(region: str, **options: Any) -> AwsClients:
    """A boto3 session and client cache (boto3 is loaded here, on first use)."""
    from connector.adapters.aws_clients import AwsClients  # noqa: PLC0415

    return AwsClients(region=region, **options)


@dataclass(frozen=True, slots=True)
class Container:
    """Everything one process runs on; `close()` releases pools and connections."""

    settings: Settings
    services: Services
    store: ConnectionStore
    cache: Cache
    cipher: Cipher
    clock: Clock
    exit_stack: AsyncExitStack
    aws_clients: AwsClients = field(default_factory=lambda: _aws_clients(DEFAULT_AWS_REGION))
    """The process's one boto3 session and client cache, for the AWS gateways (a container
    assembled by hand gets its own; it holds no thread until its first call)."""

    def reencryptor(self) -> Reencryptor:
        return Reencryptor(self.store, self.cipher)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The process's background work while serving: the sweeper that revokes sign-ins
        nobody confirmed (one sweep at a time across replicas, under a cache lock)."""
        if self.services.oauth_services is None and not self.services.providers:
            yield
            return
        # One sweeper for every provider: each grant is revoked at its own provider.
        sweep = self.services.flows().sweep
        async with every(SWEEP_INTERVAL, sweep, name="pending-grant sweeper"):
            yield

    async def close(self) -> None:
        await self.exit_stack.aclose()


def build_oauth(
    cognito: CognitoSettings,
    settings: Settings,
    *,
    connections: ConnectionService,
    cache: Cache,
    cipher: Cipher,
    clock: Clock,
    stack: AsyncExitStack,
    http_transport: httpx.AsyncBaseTransport | None,
    aws_clients: AwsClients,
    layer: ProcessLayer,
    cache_outages: OutageLog,
) -> OAuthServices:
    """One provider's Cognito side: the Hosted UI client, the JWT verifier (its own JWKS cache
    and issuer), the identity broker and the services over them; `connections` acts on that
    provider's connections."""
    # Imported here: a connector without Cognito never loads authlib or python-jose, and the
    # one-shot CLI commands (they build no Cognito side) never load httpx or boto3.
    import httpx  # noqa: PLC0415

    from connector.adapters.cognito_identity import CognitoIdentityBroker  # noqa: PLC0415
    from connector.adapters.cognito_jwt import CognitoTokenVerifier  # noqa: PLC0415
    from connector.adapters.cognito_oauth import CognitoOAuthClient  # noqa: PLC0415
    from connector.adapters.lambda_gateway import LambdaGateway  # noqa: PLC0415
    from connector.adapters.s3_gateway import S3Gateway  # noqa: PLC0415

    budget = settings.deadlines.cognito_seconds
    provider = CognitoOAuthClient(
        cognito, redirect_uri=settings.server.callback_url, transport=http_transport, timeout=budget
    )
    stack.push_async_callback(provider.close)
    jwks_http = httpx.AsyncClient(
        transport=http_transport, timeout=httpx.Timeout(budget, connect=min(2.0, budget))
    )
    stack.push_async_callback(jwks_http.aclose)
    verifier = CognitoTokenVerifier(cognito, http=jwks_http, timeout=budget)
    # Cognito Identity and STS in a pool of their own, with Cognito's budget: an identity
    # outage cannot take the slots of S3 and Lambda calls (nor the reverse).
    identity_clients = _aws_clients(cognito.region, deadline=budget)
    stack.callback(identity_clients.close)

    def lock() -> DistributedLock:
        # A waiter gives up after the budget of the Cognito call the holder is making.
        return DistributedLock(cache, wait_timeout=budget, outages=cache_outages)

    flow = OAuthFlowService(
        provider=provider,
        verifier=verifier,
        connections=connections,
        cache=cache,
        cipher=cipher,
        clock=clock,
        redirect_allowlist=settings.server.redirect_allowlist,
        binding=settings.binding,
    )
    tokens = TokenService(
        connections=connections,
        provider=provider,
        verifier=verifier,
        lock=lock(),
        clock=clock,
        windows=settings.freshness,
    )
    tolerant = TolerantCache(cache, outages=cache_outages)
    credentials = CredentialService(
        connections=connections,
        tokens=tokens,
        broker=CognitoIdentityBroker(
            cognito,
            identity_clients,
            role_arn=cognito.role_arn,
            session_seconds=cognito.session_seconds,
        ),
        cache=tolerant,
        cipher=cipher,
        lock=lock(),
        clock=clock,
        windows=settings.freshness,
        layer=layer,
    )
    acting = ActingAsUser(credentials)
    return OAuthServices(
        flow=flow,
        tokens=tokens,
        disconnect=DisconnectService(connections, provider, credentials=credentials),
        credentials=credentials,
        s3=S3Service(acting=acting, storage=S3Gateway(aws_clients), clock=clock),
        functions=FunctionService(acting=acting, runtime=LambdaGateway(aws_clients)),
        connections=connections,
    )


def process_layer(settings: Settings) -> ProcessLayer:
    """This process's layer, announcing changes on the deployment's Redis; with memory:// one
    process holds everything and evicts its own entries (no bus, and no redis import)."""
    if settings.cache.url.lower().startswith("memory://"):
        return ProcessLayer()
    from connector.adapters.redis_bus import create_bus  # noqa: PLC0415

    bus = create_bus(
        settings.cache.url,
        prefix=settings.cache.prefix,
        connect_timeout=settings.cache.connect_timeout,
    )
    return ProcessLayer(bus)


async def open_process_layer(settings: Settings, stack: AsyncExitStack) -> ProcessLayer:
    """The layer, listening for the other replicas' changes until the container closes."""
    layer = process_layer(settings)
    listener = asyncio.create_task(layer.listen(), name="invalidation listener")

    async def stop() -> None:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await layer.close()

    stack.push_async_callback(stop)
    return layer


async def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Container:
    """Open adapters, build services. Configuration errors surface here, before serving.

    `http_transport` routes every call to Cognito through one httpx transport (tests hand in
    the Hosted UI stand-in's ASGI app).
    """
    from connector.adapters.redis_cache import create_cache  # noqa: PLC0415

    clock = clock or SystemClock()
    cipher = build_cipher(settings)
    stack = AsyncExitStack()
    try:
        database = await open_database(settings)
        stack.push_async_callback(database.close)
        cache = create_cache(
            settings.cache.url,
            prefix=settings.cache.prefix,
            socket_timeout=settings.cache.socket_timeout,
            connect_timeout=settings.cache.connect_timeout,
            retry_interval=settings.cache.retry_interval,
        )
        stack.push_async_callback(cache.close)
        aws_clients = _aws_clients(aws_region(settings), deadline=settings.deadlines.aws_seconds)
        stack.callback(aws_clients.close)
        layer = await open_process_layer(settings, stack)
        # One outage of the cache is one warning, whichever component meets it first.
        cache_outages = OutageLog()
        tolerant = TolerantCache(cache, outages=cache_outages)
        connections = ConnectionService(database.connections, tolerant, cipher, clock, layer)
        providers = {
            cognito.name: build_oauth(
                cognito,
                settings,
                connections=connections.for_provider(cognito.name),
                cache=cache,
                cipher=cipher,
                clock=clock,
                stack=stack,
                http_transport=http_transport,
                aws_clients=aws_clients,
                layer=layer,
                cache_outages=cache_outages,
            )
            for cognito in settings.provider_set
        }
        flows = {name: oauth.flow for name, oauth in providers.items()}
        for oauth in providers.values():
            oauth.flow.route(flows)
        default = settings.default_provider_name
    except BaseException:
        await stack.aclose()
        raise
    services = Services(
        api_keys=ApiKeyService(database.api_keys, clock, layer),
        connections=connections,
        health=HealthService(database.ping, cache.ping),
        oauth_services=providers.get(default) if default is not None else None,
        providers=providers,
        default_provider=default,
    )
    return Container(
        settings=settings,
        services=services,
        store=database.connections,
        cache=cache,
        cipher=cipher,
        clock=clock,
        exit_stack=stack,
        aws_clients=aws_clients,
    )
