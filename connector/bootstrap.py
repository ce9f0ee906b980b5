"""The composition root: picks adapters from settings and builds every service once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from connector.domain.ports import (
    ApiKeyStore,
    Cache,
    Cipher,
    Clock,
    ConnectionStore,
    Outbox,
    RateLimiter,
    UpstreamBudget,
)
from connector.errors import ConfigurationError
from connector.services.acting import ActingAsUser
from connector.services.agents import AgentAccess, UserModePolicy
from connector.services.api_keys import ApiKeyService
from connector.services.clock import SystemClock
from connector.services.cognito_budget import CognitoBudget
from connector.services.connection_census import ConnectionCensus
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
from connector.services.rate_limits import RateLimits
from connector.services.reencryption import Reencryptor
from connector.services.s3 import S3Service
from connector.services.single_flight import DistributedLock
from connector.services.tokens import TokenService
from connector.services.tolerant_cache import TolerantCache
from connector.services.webhooks import WebhookAdmin, WebhookDelivery, WebhookEvents
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


def encryption_keys(settings: Settings) -> tuple[str, ...]:
    """The configured keys, or the development key file's (with a warning)."""
    from connector.adapters.crypto import load_or_create_dev_key  # noqa: PLC0415

    keys = settings.encryption.keys
    if not keys:
        keys = (load_or_create_dev_key(Path(settings.encryption.dev_key_file)),)
    return keys


def build_cipher(settings: Settings) -> Cipher:
    """MultiFernet over the configured keys, or the development key file."""
    from connector.adapters.crypto import FernetCipher  # noqa: PLC0415

    return FernetCipher(encryption_keys(settings))


def session_name_key(settings: Settings) -> bytes:
    """The key of the hashed STS session names, derived from the first encryption key: stable
    across replicas and restarts, and never the encryption key itself."""
    first = encryption_keys(settings)[0].encode()
    return hashlib.sha256(b"connector: STS session names\0" + first).digest()


class Database(Protocol):
    """What the composition root needs of a store of record (SqlDatabase, S3Database)."""

    @property
    def connections(self) -> ConnectionStore: ...

    @property
    def api_keys(self) -> ApiKeyStore: ...

    @property
    def outbox(self) -> Outbox | None:
        """Where webhook events wait for delivery (SQL table or S3 objects); None for a store
        that keeps none (a test double)."""
        ...

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
    webhooks: WebhookDelivery | None = None
    """The webhook delivery worker, when endpoints are configured."""
    outbox: Outbox | None = None

    def webhook_admin(self) -> WebhookAdmin | None:
        """What `connector webhooks` does, on this container's outbox (None without one)."""
        return WebhookAdmin(self.outbox, self.clock) if self.outbox is not None else None

    def reencryptor(self) -> Reencryptor:
        return Reencryptor(self.store, self.cipher)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The process's background work while serving: the sweeper that revokes sign-ins
        nobody confirmed (one sweep at a time across replicas, under a cache lock; one sweeper
        for every provider, each grant revoked at its own), and the webhook delivery worker."""
        async with AsyncExitStack() as background:
            if self.services.oauth_services is not None or self.services.providers:
                await background.enter_async_context(
                    every(SWEEP_INTERVAL, self.services.flows().sweep, name="pending-grant sweeper")
                )
            if self.webhooks is not None:
                # Out of the request path: a slow or dead receiver holds this loop only.
                poll = self.settings.webhooks.poll_seconds
                await background.enter_async_context(
                    every(poll, self.webhooks.run_once, name="webhook delivery")
                )
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
    cognito_budget: UpstreamBudget,
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
        cognito,
        redirect_uri=settings.server.callback_url,
        transport=http_transport,
        timeout=budget,
        budget=cognito_budget,
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
            restricted_role_arn=settings.sessions.restricted_role_arn,
            session_seconds=cognito.session_seconds,
            session_name_key=session_name_key(settings),
            always_hash_names=settings.sessions.session_names == "hash",
            budget=cognito_budget,
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


def build_agent_access(
    settings: Settings,
    *,
    api_keys: ApiKeyService,
    store: ConnectionStore,
    clock: Clock,
    stack: AsyncExitStack,
    http_transport: httpx.AsyncBaseTransport | None,
) -> AgentAccess:
    """MCP callers: API keys always; Cognito access tokens of the listed agent clients when
    user mode is configured (a verifier of its own: its JWKS fetches never wait on the
    sign-in flow's)."""
    cognito, mcp = settings.cognito, settings.mcp
    if cognito is None or not mcp.client_ids:
        return AgentAccess(
            api_keys=api_keys, connections=store, verifier=None, user_mode=None, clock=clock
        )
    import httpx  # noqa: PLC0415

    from connector.adapters.cognito_jwt import CognitoTokenVerifier  # noqa: PLC0415

    budget = settings.deadlines.cognito_seconds
    jwks_http = httpx.AsyncClient(
        transport=http_transport, timeout=httpx.Timeout(budget, connect=min(2.0, budget))
    )
    stack.push_async_callback(jwks_http.aclose)
    return AgentAccess(
        api_keys=api_keys,
        connections=store,
        verifier=CognitoTokenVerifier(cognito, http=jwks_http, timeout=budget),
        user_mode=UserModePolicy(
            client_ids=frozenset(mcp.client_ids),
            read_scope=mcp.read_scope,
            write_scope=mcp.write_scope,
            policy_key_id=mcp.policy_key_id,
        ),
        clock=clock,
    )


def _webhooks(
    settings: Settings, database: Database, clock: Clock, stack: AsyncExitStack
) -> tuple[WebhookEvents | None, WebhookDelivery | None]:
    """The event builder for the services and the delivery worker, when endpoints are set."""
    if not settings.webhooks.enabled:
        return None, None
    if database.outbox is None:
        raise ConfigurationError(
            "CONNECTOR_WEBHOOK_URL",
            "webhooks need a store of record that keeps an outbox",
        )
    from connector.adapters.webhook_sender import HttpxWebhookSender  # noqa: PLC0415

    sender = HttpxWebhookSender()
    stack.push_async_callback(sender.close)
    events = WebhookEvents(settings.webhooks, clock)
    return events, WebhookDelivery(database.outbox, sender, settings.webhooks, clock)


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


LISTENER_STOP_SECONDS = 2.0
"""How long closing waits for the invalidation listener to end once cancelled."""


async def open_process_layer(
    settings: Settings, stack: AsyncExitStack, *, layer: ProcessLayer | None = None
) -> ProcessLayer:
    """The layer, listening for the other replicas' changes until the container closes."""
    layer = process_layer(settings) if layer is None else layer
    listener = asyncio.create_task(layer.listen(), name="invalidation listener")

    async def stop() -> None:
        # Bounded: a close once waited forever on a listener whose cancellation never finished
        # inside the Redis client (seen once in the bench, not reproduced). Closing the bus
        # then closes its connections under it; shutting down must not hang on it.
        listener.cancel()
        done, _ = await asyncio.wait({listener}, timeout=LISTENER_STOP_SECONDS)
        if not done:
            log.warning(
                "invalidation listener still running %.0f s after it was cancelled; "
                "closing its connections",
                LISTENER_STOP_SECONDS,
            )
        await layer.close()
        if done and not listener.cancelled():
            listener.result()  # a listener that failed says so, as awaiting it did

    stack.push_async_callback(stop)
    return layer


def open_rate_limiter(settings: Settings, stack: AsyncExitStack) -> RateLimiter:
    """The counters of rate limits and Cognito budgets: on the deployment's Redis (shared by
    every replica, with the cache's timeouts), or in this process for memory://."""
    from connector.adapters.rate_limiter import create_rate_limiter  # noqa: PLC0415

    limiter = create_rate_limiter(
        settings.cache.url,
        prefix=settings.cache.prefix,
        socket_timeout=settings.cache.socket_timeout,
        connect_timeout=settings.cache.connect_timeout,
        retry_interval=settings.cache.retry_interval,
    )
    stack.push_async_callback(limiter.close)
    return limiter


def count_unchecked(check: str) -> None:
    """One limit check skipped because its store did not answer (a Prometheus counter)."""
    from connector.adapters.rate_limiter import UNCHECKED_METRIC  # noqa: PLC0415

    UNCHECKED_METRIC.labels(check=check).inc()


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
        limiter = open_rate_limiter(settings, stack)
        rate_limits = RateLimits(
            limiter, settings.rate_limits, outages=cache_outages, on_unchecked=count_unchecked
        )
        tolerant = TolerantCache(cache, outages=cache_outages)
        events, delivery = _webhooks(settings, database, clock, stack)
        connections = ConnectionService(
            database.connections,
            tolerant,
            cipher,
            clock,
            layer,
            events=events,
            outbox=database.outbox,
        )
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
                cognito_budget=CognitoBudget(
                    limiter,
                    settings.rate_limits.cognito,
                    outages=cache_outages,
                    on_unchecked=count_unchecked,
                ),
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
    api_keys = ApiKeyService(database.api_keys, clock, layer)
    census = ConnectionCensus(database.connections, clock)
    stack.push_async_callback(census.close)
    services = Services(
        api_keys=api_keys,
        connections=connections,
        health=HealthService(database.ping, cache.ping),
        rate_limits=rate_limits,
        census=census,
        oauth_services=providers.get(default) if default is not None else None,
        providers=providers,
        default_provider=default,
        agent_access=build_agent_access(
            settings,
            api_keys=api_keys,
            store=database.connections,
            clock=clock,
            stack=stack,
            http_transport=http_transport,
        ),
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
        webhooks=delivery,
        outbox=database.outbox,
    )
