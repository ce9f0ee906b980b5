"""Figures taken inside this process, where the drivers can be counted and the clock injected:
round trips per warm request, upstream calls per user over a simulated hour, the store's read
time at 1k and 100k connections, and the pyinstrument profile of the hot path.

The test suite's helpers (tests/support) are reused rather than copied: the stand-in world,
the round-trip counters, the private redis-server."""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import msgspec
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.domain.aws import AwsCredentials
from connector.services.credentials import credentials_cache_key
from connector.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.aws_world import PROVIDER, connect_alice
from support.oauth_world import CLIENT_ID, make_world, world_settings
from support.redis_server import redis_server
from support.round_trips import counting_round_trips

from bench.seeding import seed_alice
from connector.sandbox.hosted_ui import KeySet

REGION = "us-east-1"
BUCKET = "bench-bucket"


async def seed(container: Container) -> dict[str, str]:
    """alice's connection, her fresh AWS credentials in the shared cache; her request headers."""
    headers = await seed_alice(container, identity_id=f"{REGION}:alice")
    now = container.clock.now()
    credentials = AwsCredentials(
        access_key_id="ASIABENCH",
        secret_access_key="bench",  # noqa: S106 - moto accepts anything
        session_token="bench",  # noqa: S106
        expiration=now + timedelta(hours=2),
        identity_id=f"{REGION}:alice",
        issued_at=now,
    )
    sealed = container.cipher.seal(msgspec.json.encode(credentials).decode()).encode("ascii")
    await container.cache.set(credentials_cache_key("alice"), sealed, ttl=7200)
    return headers


async def round_trips(settings: Settings, headers: dict[str, str], warm: int) -> dict[str, Any]:
    """SQL statements, Redis commands and AWS requests per warm request, counted at the drivers."""
    container = await build_container(settings)
    monkeypatch = pytest.MonkeyPatch()
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            figures: dict[str, Any] = {}
            for path in ("/connection", "/s3/buckets"):
                first = await client.get(path, headers=headers)  # cold: fills the layer
                if first.status_code != 200:
                    raise RuntimeError(f"GET {path}: {first.status_code} {first.text}")
                with counting_round_trips(monkeypatch) as trips:
                    for _ in range(warm):
                        answer = await client.get(path, headers=headers)
                        assert answer.status_code == 200, answer.text
                    figures[path] = {
                        "requests": warm,
                        "sql": trips.sql / warm,
                        "redis": sum(trips.redis.values()) / warm,
                        "aws": sum(trips.aws.values()) / warm,
                    }
            return figures
    finally:
        monkeypatch.undo()
        await container.close()


async def profile(settings: Settings, headers: dict[str, str], requests: int) -> str:
    """pyinstrument's view of `requests` warm GET /connection, the ASGI app called directly (no
    client or server in the samples): the functions by their own time, then the call tree."""
    from pyinstrument import Profiler  # noqa: PLC0415 - a dev dependency, bench only
    from pyinstrument.renderers import ConsoleRenderer  # noqa: PLC0415

    container = await build_container(settings)
    try:
        app = create_app(settings, container=container)
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": "/connection", "raw_path": b"/connection",
            "query_string": b"", "root_path": "", "headers": [*raw, (b"host", b"bench")],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        for _ in range(100):
            await app(dict(scope), receive, send)  # type: ignore[arg-type]
        profiler = Profiler(interval=0.0001, async_mode="disabled")
        profiler.start()
        for _ in range(requests):
            await app(dict(scope), receive, send)  # type: ignore[arg-type]
        profiler.stop()
        if set(statuses) != {200}:
            raise RuntimeError(f"GET /connection answered {sorted(set(statuses))}")
        session = profiler.last_session
        assert session is not None
        flat = ConsoleRenderer(flat=True, time="percent_of_total").render(session)
        tree = ConsoleRenderer(time="percent_of_total").render(session)
        return f"{_top(flat, 28)}\n\n{_top(tree, 40)}"
    finally:
        try:
            await asyncio.wait_for(container.close(), 15)
        except TimeoutError:
            # Seen once after the profiled run: the invalidation listener did not finish its
            # cancellation. Not reproduced by a plain close; reported, not hidden.
            print("bench: profile: container.close() took over 15 s", file=sys.stderr)


def _top(text: str, lines: int) -> str:
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[:lines])


async def store_scale(settings: Settings, sizes: tuple[int, ...], reads: int) -> dict[int, float]:
    """p50 of a cold `ConnectionStore.get` (one SQL round trip) with `size` stored connections."""
    container = await build_container(settings)
    try:
        store = container.store
        database = store._database  # type: ignore[attr-defined]  # the bench fills it by SQL
        figures: dict[int, float] = {}
        stored = 1
        for size in sizes:
            async with database.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO connections SELECT 'bench-' || g, status, sub, username,"
                        " email, scopes, identity_id, access_token, id_token, refresh_token,"
                        " issued_at, expires_at, last_refreshed_at, created_at, updated_at,"
                        " version FROM connections,"
                        " generate_series(CAST(:low AS integer), CAST(:high AS integer)) AS g"
                        " WHERE user_id = 'alice'"
                    ),
                    {"low": stored, "high": size - 1},
                )
                await conn.execute(text("ANALYZE connections"))
            stored = size
            samples = []
            for _ in range(reads):
                user = f"bench-{random.randrange(1, size)}"  # noqa: S311 - not cryptographic
                start = time.perf_counter()
                found = await store.get(user)
                samples.append(time.perf_counter() - start)
                assert found is not None
            figures[size] = statistics.median(samples)
        return figures
    finally:
        await container.close()


MOTO_DUMMY = "testing"


def moto_client(service: str, moto_url: str) -> Any:
    """A boto3 client of moto at `moto_url`, with moto's dummy keys."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=MOTO_DUMMY,
        aws_secret_access_key=MOTO_DUMMY,
    )


def _identity_pool(moto_url: str) -> str:
    identity = moto_client("cognito-identity", moto_url)
    pool_id: str = identity.create_identity_pool(
        IdentityPoolName="bench_hour",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": PROVIDER, "ClientId": CLIENT_ID}],
    )["IdentityPoolId"]
    return pool_id


async def simulated_hour(moto_url: str, *, seconds: int, every: int) -> dict[str, Any]:
    """One user making GET /s3/buckets every `every` seconds of an injected clock for `seconds`:
    refresh grants at the Hosted UI stand-in and Cognito Identity calls at moto, once with the
    cache up and once with it killed after the sign-in (a private redis-server)."""
    pool_id = _identity_pool(moto_url)
    figures: dict[str, Any] = {"seconds": seconds, "every": every}
    for case in ("cache up", "cache down"):
        with tempfile.TemporaryDirectory() as tmp, redis_server() as cache:
            settings = world_settings(
                f"sqlite+aiosqlite:///{Path(tmp) / 'hour.db'}",
                cache.url,
                Fernet.generate_key().decode(),
                AWS_COGNITO_IDENTITY_POOL_ID=pool_id,
                CONNECTOR_REDIS_PREFIX=f"bench-hour-{case.replace(' ', '-')}:",
            )
            monkeypatch = pytest.MonkeyPatch()
            async with AsyncExitStack() as stack:
                world = make_world(stack, KeySet.generate(), settings)
                replica = await world.instance()
                await connect_alice(world, replica)
                key = await world.key(replica, "s3:read")
                head = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
                if case == "cache down":
                    cache.kill()
                refreshes = world.hosted_ui.stats.refresh_grants
                failures = 0
                with counting_round_trips(monkeypatch) as trips:
                    for _ in range(seconds // every):
                        answer = await replica.client.get("/s3/buckets", headers=head)
                        failures += answer.status_code != 200
                        world.clock.advance(every)
                    figures[case] = {
                        "requests": seconds // every,
                        "failures": failures,
                        "refresh_grants": world.hosted_ui.stats.refresh_grants - refreshes,
                        "cognito_identity_calls": trips.aws["cognito-identity"],
                        "s3_calls": trips.aws["s3"],
                    }
            monkeypatch.undo()
    return figures


def run_async(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
