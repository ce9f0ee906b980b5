"""`connector serve` as real OS processes, and what they share: a database of their own on the
real PostgreSQL, a key prefix of their own on the real Redis, the Hosted UI stand-in and moto
served over HTTP by this process (so every upstream call the replicas make is counted here)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import boto3
import httpx
from moto.server import DomainDispatcherApplication, create_backend_app
from redis import Redis
from werkzeug.serving import make_server

from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    KeySet,
    SandboxUser,
    create_hosted_ui_app,
)
from connector.sandbox.servers import BackgroundServer
from support.login_form import parse_login_form
from support.servers import LOCALHOST, free_port

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
REGION = "us-east-1"
POOL_ID = "us-east-1_Processes"
CLIENT_ID, CLIENT_SECRET = "process-client", "process-client-secret"
RETURN_URL = "https://app.example/done"
ALICE = SandboxUser(username="alice", password="Alice-Password-1", email="alice@example.com")
START_TIMEOUT = 90.0  # imports on a shared, loaded 2-core machine
STOP_TIMEOUT = 15.0


class CountingMoto:
    """moto's server in a thread, counting the requests it answers by `X-Amz-Target` (the
    Cognito Identity and STS calls are JSON/Query actions; S3 calls count as `s3`)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            name = target.rpartition(".")[2] if target else "other"
            with self._lock:
                self.calls[name] += 1
            return app(environ, start_response)

        self._server = make_server(LOCALHOST, 0, counted, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self._server.server_port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)


@dataclass
class Replica:
    """One `connector serve` process (with `--workers N`, N worker processes behind one port)."""

    name: str
    port: int
    workers: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def client(self, headers: Mapping[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=dict(headers or {}), timeout=30)

    def log_tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:]


@dataclass
class ProcessWorld:
    """Replicas sharing one database and one prefix, and the upstreams they call."""

    environment: dict[str, str]
    hosted_ui: HostedUi
    moto: CountingMoto
    workdir: Path
    public_port: int
    """Where the first replica listens: the OAuth callback's host, as a load balancer's."""
    replicas: list[Replica] = field(default_factory=list)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`connector <args>` as a process of its own, with the replicas' settings."""
        return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "connector", *args],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )

    def create_key(self, name: str, *scopes: str) -> str:
        args = ["keys", "create", "--name", name]
        for scope in scopes:
            args += ["--scope", scope]
        done = self.cli(*args)
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["key"])

    def connect(self, replica: Replica, key: str, user_id: str) -> None:
        """A browser signs `ALICE` in at the stand-in for the app's `user_id`."""
        with replica.client({"Authorization": f"Bearer {key}", "X-User-Id": user_id}) as api:
            started = api.get("/connect", params={"redirect_uri": RETURN_URL})
            assert started.status_code == 200, started.text
            auth_url = started.json()["data"]["authUrl"]
            with httpx.Client(timeout=30) as browser:
                form = parse_login_form(browser.get(auth_url).text)
                fields = {**form.hidden, "username": ALICE.username, "password": ALICE.password}
                action = httpx.URL(auth_url).join(form.action)
                back = browser.post(action, data=fields)
            assert back.status_code == 302, back.text
            callback = urlsplit(back.headers["location"])
            answer = api.get(f"{callback.path}?{callback.query}")
            assert answer.status_code == 302, answer.text
            assert "error" not in answer.headers["location"], answer.headers["location"]


def _admin(statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def own_database() -> Iterator[str]:
    """A new database on the shared PostgreSQL (SQLAlchemy URL); dropped afterwards."""
    name = f"connector_test_{secrets.token_hex(6)}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def own_prefix() -> Iterator[str]:
    """A key prefix on the shared Redis; every key under it deleted afterwards."""
    prefix = f"connector-test-{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        client = Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _identity_pool(moto_url: str, provider: str) -> str:
    identity = boto3.client(
        "cognito-identity",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pool_id: str = identity.create_identity_pool(
        IdentityPoolName="connector_processes",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": CLIENT_ID}],
    )["IdentityPoolId"]
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="alice-data")
    return pool_id


def serve_environment(
    *, database_url: str, redis_url: str, prefix: str, public_url: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """What every replica and CLI process is started with (nothing inherited from CONNECTOR_*
    or AWS_* of this process)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "AWS_"))}
    return {
        **inherited,
        "CONNECTOR_DATABASE_URL": database_url,
        "CONNECTOR_REDIS_URL": redis_url,
        "CONNECTOR_REDIS_PREFIX": prefix,
        "CONNECTOR_PUBLIC_URL": public_url,
        "CONNECTOR_REDIRECT_ALLOWLIST": RETURN_URL,
        "CONNECTOR_IDENTITY_BINDING": "none",
        "CONNECTOR_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def process_world(
    workdir: Path,
    keys: KeySet,
    *,
    access_token_ttl: int = 3600,
    redis_url: str = REDIS_URL,
) -> Iterator[ProcessWorld]:
    """The stand-in, counting moto, a database and a prefix; replicas are added with
    `start_replica`. Everything stops when the block ends."""
    with ExitStack() as stack:
        database_url = stack.enter_context(own_database())
        prefix = stack.enter_context(own_prefix())
        moto = CountingMoto()
        moto.start()
        stack.callback(moto.stop)
        hosted_port = free_port()
        hosted_url = f"http://{LOCALHOST}:{hosted_port}"
        # Every replica shares one public URL, as behind a load balancer: the first one's.
        public_port = free_port()
        public_url = f"http://{LOCALHOST}:{public_port}"
        hosted_ui = HostedUi(
            HostedUiConfig(
                user_pool_id=POOL_ID,
                issuer_base_url=hosted_url,
                clients=(
                    AppClient(
                        CLIENT_ID,
                        callback_urls=(f"{public_url}/callback",),
                        client_secret=CLIENT_SECRET,
                    ),
                ),
                users=(ALICE,),
                access_token_ttl=access_token_ttl,
            ),
            keys=keys,
        )
        server = BackgroundServer(create_hosted_ui_app(hosted_ui), hosted_port, name="hosted-ui")
        server.start()
        stack.callback(server.stop)
        identity_pool = _identity_pool(moto.url, f"{LOCALHOST}:{hosted_port}/{POOL_ID}")
        environment = serve_environment(
            database_url=database_url,
            redis_url=redis_url,
            prefix=prefix,
            public_url=public_url,
            extra={
                "AWS_COGNITO_DOMAIN": hosted_url,
                "AWS_COGNITO_CLIENT_ID": CLIENT_ID,
                "AWS_COGNITO_CLIENT_SECRET": CLIENT_SECRET,
                "AWS_REGION": REGION,
                "AWS_COGNITO_USER_POOL_ID": POOL_ID,
                "AWS_COGNITO_ISSUER": f"{hosted_url}/{POOL_ID}",
                "AWS_COGNITO_IDENTITY_POOL_ID": identity_pool,
                "AWS_ENDPOINT_URL": moto.url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true",
                "CONNECTOR_ENCRYPTION_KEYS": _fernet_key(),
            },
        )
        world = ProcessWorld(environment, hosted_ui, moto, workdir, public_port)
        migrated = world.cli("migrate")
        assert migrated.returncode == 0, migrated.stderr
        try:
            yield world
        finally:
            for replica in world.replicas:
                stop(replica)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet  # noqa: PLC0415

    return Fernet.generate_key().decode()


def start_replica(
    world: ProcessWorld, name: str, *, workers: int = 1, port: int | None = None
) -> Replica:
    """`connector serve --workers N` on a free port (the world's public port for the first
    replica); returns once GET /health/ready answers 200."""
    if port is None:
        port = free_port() if world.replicas else world.public_port
    log = world.workdir / f"{name}.log"
    command = [sys.executable, "-m", "connector", "serve", "--host", LOCALHOST]
    command += ["--port", str(port), "--workers", str(workers)]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            command, env=world.environment, stdout=output, stderr=subprocess.STDOUT
        )
    replica = Replica(name, port, workers, process, log)
    world.replicas.append(replica)
    wait_ready(replica)
    return replica


def wait_ready(replica: Replica) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise RuntimeError(f"{replica.name} exited:\n{replica.log_tail()}")
        try:
            if httpx.get(f"{replica.url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{replica.name} not ready in {START_TIMEOUT} s:\n{replica.log_tail()}")


def stop(replica: Replica) -> None:
    if replica.process.poll() is None:
        replica.process.terminate()
        try:
            replica.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            replica.process.kill()
            replica.process.wait(STOP_TIMEOUT)


def pid_of_peer(peer_port: int, local_port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the TCP socket 127.0.0.1:`peer_port` connected to our
    127.0.0.1:`local_port` (Linux: the socket's inode in /proc/net/tcp, then in each process's
    open files); None when none of them does."""
    inodes = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            here, there, inode = fields[1], fields[2], fields[9]
            if int(here.rsplit(":", 1)[1], 16) == peer_port and (
                int(there.rsplit(":", 1)[1], 16) == local_port
            ):
                inodes.add(f"socket:[{inode}]")
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if str(descriptor.readlink()) in inodes:
                    return pid
            except OSError:
                continue
    return None
