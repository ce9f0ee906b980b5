"""/metrics under `connector serve --workers 2`: whichever worker answers the scrape, it reports
the requests of both (multiprocess mode) and the connections of the store once (not once per
worker), parsed with prometheus-client's own parser; and `serve` empties the shared directory it
is given before the workers start."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from support.factories import make_connection
from support.servers import free_port

from connector.adapters.crypto import FernetCipher, generate_key
from connector.adapters.sql import SqlDatabase
from connector.domain.models import ConnectionStatus

REQUESTS = 60
MAX_BATCHES = 10


def health_count(families: object) -> float:
    """connector_requests_total for GET /health 200, summed over the families given."""
    return sum(
        sample.value
        for family in families  # type: ignore[attr-defined]
        for sample in family.samples
        if sample.name == "connector_requests_total"
        and sample.labels.get("path") == "/health"
        and sample.labels.get("status_code") == "200"
    )


@pytest.fixture
def serve(tmp_path: Path, redis_prefix: str) -> Iterator[tuple[str, Path]]:
    """`connector serve --workers 2` on a free port; yields its URL and metrics directory."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over by an earlier run")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CONNECTOR_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CONNECTOR_REDIS_PREFIX": redis_prefix,
        "CONNECTOR_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = [sys.executable, "-m", "connector", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "serve did not answer in time"
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base, metrics_dir
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def one_worker(counter_file: Path, workdir: Path) -> object:
    """The families of one worker's counter file alone, read as a scrape would read them."""
    workdir.mkdir()
    shutil.copy(counter_file, workdir)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(workdir))  # type: ignore[no-untyped-call]
    return text_string_to_metric_families(generate_latest(registry).decode())


def test_every_scrape_of_two_workers_counts_the_requests_both_served(
    serve: tuple[str, Path], tmp_path: Path
) -> None:
    base, metrics_dir = serve
    assert not (metrics_dir / "counter_999999.db").exists()

    def one_request(_: int) -> int:
        # A connection per request, several at once: the kernel hands them to both workers.
        return httpx.get(f"{base}/health", timeout=10).status_code

    sent = 0
    per_worker: dict[str, float] = {}
    # Batches until both workers have served some (bounded: a busy machine may let one worker
    # accept a whole batch).
    for _ in range(MAX_BATCHES):
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(one_request, range(REQUESTS))) == {200}
        sent += REQUESTS
        # A request is counted once its response has gone: wait (bounded) for the last ones.
        deadline = time.monotonic() + 10
        while scraped(base) < sent:
            assert time.monotonic() < deadline, scraped(base)
            time.sleep(0.1)
        per_worker = {
            path.name: health_count(one_worker(path, tmp_path / f"{path.stem}-{sent}"))
            for path in metrics_dir.glob("counter_*.db")
        }
        if sum(1 for count in per_worker.values() if count > 0) == 2:
            break
    served = [count for count in per_worker.values() if count > 0]
    assert len(served) == 2, per_worker  # both workers served some of them
    assert sum(served) == sent

    for _ in range(6):  # each scrape lands on either worker
        assert scraped(base) == sent


def scraped(base: str) -> float:
    scrape = httpx.get(f"{base}/metrics", timeout=10)
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    return health_count(text_string_to_metric_families(scrape.text))


def test_every_worker_reports_the_connections_of_the_store_once_not_per_worker(
    serve: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = serve
    statuses = [ConnectionStatus.ACTIVE] * 3 + [ConnectionStatus.REAUTH_REQUIRED] * 2
    asyncio.run(store_connections(tmp_path / "serve.db", statuses))
    expected = {"active": 3.0, "reauth_required": 2.0}
    for _ in range(8):  # each scrape lands on either worker; each counts from the store
        scrape = httpx.get(f"{base}/metrics", timeout=10)
        assert scrape.status_code == 200
        assert connections_by_status(scrape.text) == expected


async def store_connections(database_file: Path, statuses: list[ConnectionStatus]) -> None:
    database = SqlDatabase.from_url(f"sqlite+aiosqlite:///{database_file}")
    cipher = FernetCipher((generate_key(),))
    try:
        for number, status in enumerate(statuses):
            connection = make_connection(f"user-{number}", cipher, status=status)
            await database.connections.put(connection, expected_version=None)
    finally:
        await database.close()


def connections_by_status(text: str) -> dict[str, float]:
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "connector_connections"
    }
