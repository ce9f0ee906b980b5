"""Request overhead of the connector against a bare Litestar handler, measured in one run.

    uv run python bench/bench_api.py [--requests 2000]

Every app is driven in-process through httpx.ASGITransport (no sockets), so the figures are
the framework + connector cost per request: API-key check (one database read), X-User-Id
validation, the cached connection read, the envelope. Ratios are against the bare handler.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from litestar import Litestar, get
from seeding import UNREACHED_LIMITS, seed_alice

from connector.app import create_app
from connector.bootstrap import build_container
from connector.settings import Settings


@get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}


async def measure(call: Callable[[], Awaitable[httpx.Response]], requests: int) -> list[float]:
    for _ in range(50):  # warm-up
        assert (await call()).status_code == 200
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = await call()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200
    return samples


def report(name: str, samples: list[float], baseline: float) -> None:
    median = statistics.median(samples)
    p99 = sorted(samples)[int(len(samples) * 0.99) - 1]
    print(
        f"{name:<34} median {median * 1e6:8.1f} us   p99 {p99 * 1e6:8.1f} us"
        f"   x{median / baseline:5.2f} of bare"
    )


async def main(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {
                "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                **UNREACHED_LIMITS,
            }
        )
        container = await build_container(settings)
        try:
            headers = await seed_alice(container)
            apps = {
                "bare": Litestar([bare], logging_config=None),
                "connector": create_app(settings, container=container),
            }
            clients = {
                name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
                for name, app in apps.items()
            }
            bare_samples = await measure(lambda: clients["bare"].get("/bare"), requests)
            baseline = statistics.median(bare_samples)
            report("bare Litestar handler (baseline)", bare_samples, baseline)
            health = await measure(lambda: clients["connector"].get("/health"), requests)
            report("GET /health (db + cache ping)", health, baseline)
            connection = await measure(
                lambda: clients["connector"].get("/connection", headers=headers), requests
            )
            report("GET /connection (key + cache)", connection, baseline)
            for client in clients.values():
                await client.aclose()
        finally:
            await container.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
