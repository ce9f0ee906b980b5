"""boto3 plumbing: one Session, clients cached per credentials, calls in a sized thread pool,
each call answered within its deadline.

botocore's timeouts are per attempt and its retries multiply them (3 attempts of a 30 s read
held a request 90 s). So a call's deadline is kept at two levels:
- the caller: an asyncio timeout around the pool call answers DeadlineExceededError at the
  deadline, whatever botocore is doing;
- the worker thread: botocore is told to start no attempt once the deadline has passed (a
  `before-send` hook reads the deadline from the call's context), and each attempt is bounded
  by the connect timeout and a read timeout equal to the deadline (a slow answer may use the
  whole budget; it is never cut shorter). A black-holed call thus frees its thread at the
  deadline, and the worst case (fast failures, then an attempt started just before the
  deadline) holds it less than twice the deadline: never forever, so a dead endpoint cannot
  take the pool's slots one by one.
Streamed bodies have no total deadline (a slow but moving download is not cut): the read
timeout applies to each socket read, so it is an idle timeout on every chunk.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

if TYPE_CHECKING:
    from botocore.config import _RetryDict

from connector.adapters.aws_errors import DeadlineExceededError
from connector.adapters.upstream_metrics import counting_calls
from connector.domain.aws import AwsCredentials

T = TypeVar("T")
DEFAULT_DEADLINE = 10.0
CONNECT_TIMEOUT = 2.0
# When the current pool call must be over (time.monotonic()), None for streamed bodies. Set in
# the copy of the caller's context each call runs in, read by botocore's before-send hook.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "aws_deadline", default=None
)

_ClientKey = tuple[str, str | None, str | None]


def _client_key(service: str, credentials: AwsCredentials | None) -> _ClientKey:
    if credentials is None:
        return (service, None, None)
    # The session token is a secret: the key holds only its digest.
    digest = hashlib.sha256(credentials.session_token.encode()).hexdigest()
    return (service, credentials.access_key_id, digest)


def configured_region(fallback: str) -> str:
    """The region boto3's own configuration names (AWS_DEFAULT_REGION or the config file),
    else `fallback`."""
    region = botocore.session.get_session().get_config_variable("region")
    return str(region) if region else fallback


def _retries(core: botocore.session.Session) -> _RetryDict:
    """Standard mode, 3 attempts in all (the AWS SDKs' default), unless configured."""
    mode = core.get_config_variable("retry_mode") if _configured(core, "retry_mode") else None
    attempts = core.get_config_variable("max_attempts")  # AWS_MAX_ATTEMPTS counts every attempt
    return {"mode": mode or "standard", "total_max_attempts": int(attempts or 3)}


def _configured(core: botocore.session.Session, name: str) -> bool:
    """True when the environment or a config file sets `name` (not just botocore's default)."""
    return core.get_config_variable(name, methods=("env", "config")) is not None


def _refuse_after_deadline(**_: Any) -> None:
    """botocore's before-send hook: no attempt (first or retry) starts past the deadline."""
    expires = _DEADLINE.get()
    if expires is not None and time.monotonic() >= expires:
        raise DeadlineExceededError


class AwsClients:
    """One boto3 Session (never one per request); clients cached per credentials in a bounded LRU;
    calls run in a ThreadPoolExecutor sized to botocore's max_pool_connections, each within
    `deadline` seconds (see the module docstring).

    Region comes from the constructor; endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>)
    come from boto3's standard configuration, so nothing here knows about emulators.
    """

    def __init__(
        self,
        *,
        region: str,
        max_pool_connections: int = 10,
        max_cached_clients: int = 256,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        if max_pool_connections < 1 or max_cached_clients < 1 or deadline <= 0:
            raise ValueError("max_pool_connections, max_cached_clients and deadline must be > 0")
        self.region = region
        self.max_pool_connections = max_pool_connections
        self.max_cached_clients = max_cached_clients
        self.deadline = deadline
        core = botocore.session.get_session()
        self._session = boto3.Session(botocore_session=core, region_name=region)
        # `aws`, `aws-cn`, `aws-us-gov`...: what an ARN in this region starts with.
        self.partition: str = self._session.get_partition_for_region(region)
        self._config = Config(
            max_pool_connections=max_pool_connections,
            connect_timeout=min(CONNECT_TIMEOUT, deadline),
            read_timeout=deadline,
            # Standard retries (3 attempts, throttling-aware) unless AWS_MAX_ATTEMPTS /
            # AWS_RETRY_MODE (or a config file) say otherwise: boto3's own settings win.
            retries=_retries(core),
        )
        self._unsigned_config = self._config.merge(Config(signature_version=UNSIGNED))
        self._s3_config = self._config.merge(Config(signature_version="s3v4"))
        self._clients: OrderedDict[_ClientKey, Any] = OrderedDict()
        # Outside the LRU: the service's own clients live as long as this object.
        self._service_clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=max_pool_connections, thread_name_prefix="aws"
        )

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The pool every boto3 call runs in (as many workers as pooled connections)."""
        return self._executor

    @property
    def cached_clients(self) -> int:
        """How many clients the LRU holds now."""
        with self._lock:
            return len(self._clients)

    def client(self, service: str, credentials: AwsCredentials | None) -> Any:
        """A client for `service` signed with `credentials`, or unsigned when None (Cognito
        Identity's public GetId / GetCredentialsForIdentity / GetOpenIdToken)."""
        key = _client_key(service, credentials)
        # botocore sessions are not thread-safe while creating clients; clients themselves are.
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                self._clients.move_to_end(key)
                return cached
            created = self._create(service, credentials)
            self._clients[key] = created
            while len(self._clients) > self.max_cached_clients:
                _, evicted = self._clients.popitem(last=False)
                evicted.close()
            return created

    def in_pool(self, service: str, credentials: AwsCredentials | None) -> PooledClient:
        """The client for `service` and `credentials` as `client()` gives it, but looked up (and
        built, the first time) by each method call in the worker thread that runs it: building a
        client loads botocore's service model, CPU time the event loop must not spend and the
        call's deadline must count."""
        return PooledClient(self, service, credentials)

    def service_client(self, service: str) -> Any:
        """A client signed with the service's own credentials from boto3's default chain
        (environment, profile, web identity, container or instance role), for the connector's
        own resources such as the s3:// store; never a user's credentials."""
        with self._lock:
            cached = self._service_clients.get(service)
            if cached is None:
                cached = self._session.client(service, config=self._config_for(service))  # type: ignore[call-overload]
                self._service_clients[service] = _with_deadline(cached)
            return cached

    def _config_for(self, service: str) -> Config:
        # S3 presigned URLs must be SigV4 (botocore still defaults to SigV2 for us-east-1).
        return self._s3_config if service == "s3" else self._config

    def _create(self, service: str, credentials: AwsCredentials | None) -> Any:
        if credentials is None:
            return _with_deadline(self._session.client(service, config=self._unsigned_config))  # type: ignore[call-overload]
        return _with_deadline(
            self._session.client(  # type: ignore[call-overload]
                service,
                config=self._config_for(service),
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )
        )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking boto3 call in the pool, keeping the caller's context variables;
        DeadlineExceededError when it is not over within the deadline."""
        context = contextvars.copy_context()
        context.run(_DEADLINE.set, time.monotonic() + self.deadline)
        call = functools.partial(context.run, fn, *args, **kwargs)
        pooled = asyncio.get_running_loop().run_in_executor(self._executor, call)
        try:
            async with asyncio.timeout(self.deadline) as deadline:
                return await pooled
        except TimeoutError:
            if deadline.expired():
                # The worker thread stops at its next attempt, or at the read timeout.
                raise DeadlineExceededError from None
            raise

    async def stream(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run one read of a streamed body in the pool: no total deadline, only botocore's
        read timeout on each socket read (an idle timeout), so slow but steady bytes go on."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        """Stop the pool (waiting for running calls) and close every cached client."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients = [*self._clients.values(), *self._service_clients.values()]
            self._clients.clear()
            self._service_clients.clear()
        for cached in clients:
            cached.close()


class PooledClient:
    """`clients.in_pool(service, credentials).method` is a function that, called (in the pool,
    through `AwsClients.run`), calls `method` on the cached client, building it if needed."""

    def __init__(
        self, clients: AwsClients, service: str, credentials: AwsCredentials | None
    ) -> None:
        self._clients = clients
        self._service = service
        self._credentials = credentials

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            client = self._clients.client(self._service, self._credentials)
            return getattr(client, method)(*args, **kwargs)

        call.__name__ = method
        return call


def _with_deadline(client: Any) -> Any:
    client.meta.events.register("before-send", _refuse_after_deadline)
    return counting_calls(client)
