"""Three real `connector serve` processes on the real Redis (a key prefix of their own) share
one rate limit: what they admit together, requests spread over them, is the limit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from support.replicas import clear_of_window_end
from support.servers import answers, free_ports

REPLICAS = 3
LIMIT = 24
DAY = 86400
START_TIMEOUT = 60.0


def connector(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "connector", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.fixture
def env(tmp_path: Path, redis_prefix: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "CONNECTOR_LOG_LEVEL": "WARNING",
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'replicas.db'}",
        "CONNECTOR_AUTO_MIGRATE": "false",  # migrated once, before the replicas start
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CONNECTOR_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CONNECTOR_REDIS_PREFIX": redis_prefix,
        # A busy machine's shared Redis may be slower than the production 0.25 s; a check it
        # missed would pass unchecked (by design: tests/faults) and blur the count.
        "CONNECTOR_REDIS_SOCKET_TIMEOUT": "3",
        "CONNECTOR_REDIS_CONNECT_TIMEOUT": "3",
        "CONNECTOR_RATE_LIMITS_PER_KEY": f"read={LIMIT}/day",
    }


@pytest.fixture
def ports(env: dict[str, str]) -> Iterator[list[int]]:
    """The replicas' ports, once each `connector serve` accepts connections."""
    connector(env, "migrate")
    chosen = free_ports(REPLICAS)
    processes = [
        subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
            [sys.executable, "-m", "connector", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in chosen
    ]
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all(answers(port) for port in chosen):
            assert all(p.poll() is None for p in processes), "a replica exited"
            assert time.monotonic() < deadline, "the replicas did not start"
            time.sleep(0.1)
        yield chosen
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


async def test_three_serve_processes_admit_one_key_limit_together(
    env: dict[str, str], ports: list[int]
) -> None:
    key = json.loads(connector(env, "keys", "create", "--name", "app").stdout)["key"]
    clear_of_window_end(DAY)
    async with httpx.AsyncClient(timeout=30) as http:

        async def get(n: int) -> httpx.Response:
            return await http.get(
                f"http://127.0.0.1:{ports[n % REPLICAS]}/connection",
                headers={"Authorization": f"Bearer {key}", "X-User-Id": f"user-{n}"},
            )

        answers_ = await asyncio.gather(*(get(n) for n in range(3 * LIMIT)))

    assert Counter(a.status_code for a in answers_) == {404: LIMIT, 429: 2 * LIMIT}
    # One counter: the admitted requests saw every remaining count once, whichever replica
    # answered them.
    remaining = sorted(
        int(a.headers["RateLimit"].split("r=")[1].split(";")[0])
        for a in answers_
        if a.status_code == 404
    )
    assert remaining == list(range(LIMIT))
