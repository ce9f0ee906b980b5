"""S3 and Lambda through the connector against the same calls made directly with boto3, in one run.

    uv run python bench/bench_aws.py [--requests 300]

Both sides talk to one moto server on 127.0.0.1 (in this process's threads). The connector is
driven in-process through httpx.ASGITransport; the user's credentials are already cached (as
they are for every request but one per credential lifetime), so the figures are what a request
costs on top of the AWS call itself: API key, policy, cached credentials, cached boto3 client,
worker thread, envelope. Ratios are against the direct boto3 call measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import msgspec
from cryptography.fernet import Fernet
from moto.server import ThreadedMotoServer
from seeding import UNREACHED_LIMITS, seed_alice

from connector.app import create_app
from connector.bootstrap import build_container
from connector.domain.aws import AwsCredentials
from connector.services.credentials import credentials_cache_key
from connector.settings import Settings

REGION, BUCKET = "us-east-1", "bench-bucket"
MB = 1 << 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def measure(call: Callable[[], Awaitable[Any]], requests: int) -> list[float]:
    for _ in range(20):  # warm-up
        await call()
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def report(name: str, samples: list[float], baseline: list[float]) -> None:
    median, base = statistics.median(samples), statistics.median(baseline)
    print(f"{name:<44} median {median * 1e3:7.2f} ms   x{median / base:5.2f} of direct boto3")


def check(response: httpx.Response) -> httpx.Response:
    assert response.status_code == 200, response.text
    return response


async def main(requests: int) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    direct = boto3.client("s3", region_name=REGION)
    direct.create_bucket(Bucket=BUCKET)
    body = os.urandom(MB)
    direct.put_object(Bucket=BUCKET, Key="one-mb", Body=body)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {
                "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                **UNREACHED_LIMITS,
                # Cognito is configured but never called: the credentials below are cached.
                "AWS_COGNITO_DOMAIN": "http://127.0.0.1:9",
                "AWS_COGNITO_CLIENT_ID": "bench",
                "AWS_REGION": REGION,
                "AWS_COGNITO_USER_POOL_ID": f"{REGION}_bench",
                "AWS_COGNITO_IDENTITY_POOL_ID": f"{REGION}:00000000-0000-0000-0000-000000000000",
            }
        )
        container = await build_container(settings)
        try:
            headers = await seed(container)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, container=container)),
                base_url="http://b",
                headers=headers,
            ) as http:
                await run(http, direct, body, requests)
        finally:
            await container.close()
            server.stop()


async def seed(container: Any) -> dict[str, str]:
    """alice's connection (identity known) and fresh credentials in the cache."""
    headers = await seed_alice(container, identity_id=f"{REGION}:alice")
    now = container.clock.now()
    credentials = AwsCredentials(
        access_key_id="ASIABENCH",
        secret_access_key="bench",  # noqa: S106 - moto accepts anything
        session_token="bench",  # noqa: S106
        expiration=now + timedelta(hours=1),
        identity_id=f"{REGION}:alice",
        issued_at=now,
    )
    sealed = container.cipher.seal(msgspec.json.encode(credentials).decode()).encode("ascii")
    await container.cache.set(credentials_cache_key("alice"), sealed, ttl=3600)
    return headers


async def run(http: httpx.AsyncClient, direct: Any, body: bytes, requests: int) -> None:
    def get_direct() -> bytes:
        data: bytes = direct.get_object(Bucket=BUCKET, Key="one-mb")["Body"].read()
        return data

    cases: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
        (
            "list buckets",
            lambda: http.get("/s3/buckets"),
            lambda: asyncio.to_thread(direct.list_buckets),
        ),
        (
            "list objects",
            lambda: http.get(f"/s3/buckets/{BUCKET}/objects"),
            lambda: asyncio.to_thread(direct.list_objects_v2, Bucket=BUCKET),
        ),
        (
            "get 1 MiB object (streamed)",
            lambda: http.get(f"/s3/buckets/{BUCKET}/objects/one-mb"),
            lambda: asyncio.to_thread(get_direct),
        ),
        (
            "put 1 MiB object",
            lambda: http.put(f"/s3/buckets/{BUCKET}/objects/up", content=body),
            lambda: asyncio.to_thread(direct.put_object, Bucket=BUCKET, Key="up", Body=body),
        ),
    ]
    for name, through_connector, directly in cases:
        check(await through_connector())
        baseline = await measure(directly, requests)
        connector = await measure(lambda c=through_connector: c(), requests)  # type: ignore[misc]
        report(f"direct boto3: {name} (baseline)", baseline, baseline)
        report(f"connector:    {name}", connector, baseline)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
