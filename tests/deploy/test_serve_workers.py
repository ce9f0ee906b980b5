"""How many processes `connector serve` starts: --workers, else WEB_CONCURRENCY, else 1; the
memory:// cache lives in one process (the decision is a pure function; nothing is served)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector.cli import WorkerPlan, plan_workers
from connector.errors import ConfigurationError

REDIS = "redis://127.0.0.1:6379/0"
MEMORY = "memory://"


def test_without_workers_or_web_concurrency_one_worker_runs() -> None:
    assert plan_workers(None, {}, MEMORY) == WorkerPlan(1)
    assert plan_workers(None, {"WEB_CONCURRENCY": " "}, REDIS) == WorkerPlan(1)


def test_web_concurrency_sets_the_workers_when_the_cache_is_shared() -> None:
    assert plan_workers(None, {"WEB_CONCURRENCY": "4"}, REDIS) == WorkerPlan(4)
    assert plan_workers(None, {"WEB_CONCURRENCY": "1"}, MEMORY) == WorkerPlan(1)


def test_web_concurrency_above_one_with_the_memory_cache_runs_one_worker_with_a_warning() -> None:
    plan = plan_workers(None, {"WEB_CONCURRENCY": "2"}, MEMORY)
    assert plan.count == 1
    assert plan.warning is not None
    assert "WEB_CONCURRENCY=2" in plan.warning
    assert "memory://" in plan.warning


def test_an_explicit_workers_option_wins_over_web_concurrency() -> None:
    assert plan_workers(3, {"WEB_CONCURRENCY": "8"}, REDIS) == WorkerPlan(3)
    assert plan_workers(1, {"WEB_CONCURRENCY": "8"}, MEMORY) == WorkerPlan(1)


def test_explicit_workers_above_one_with_the_memory_cache_are_refused() -> None:
    with pytest.raises(ConfigurationError) as refused:
        plan_workers(2, {}, MEMORY)
    assert refused.value.variable == "CONNECTOR_REDIS_URL"


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_web_concurrency_that_is_not_a_whole_number_above_zero_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        plan_workers(None, {"WEB_CONCURRENCY": value}, REDIS)
    assert refused.value.variable == "WEB_CONCURRENCY"


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "connector", "serve", *args],
        env={
            "PATH": "/usr/bin:/bin",
            "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_explicit_workers_with_the_memory_cache_in_one_line_exit_2(
    tmp_path: Path,
) -> None:
    # Refused before anything is built or bound: the process ends at once.
    result = serve(tmp_path, "--workers", "2", WEB_CONCURRENCY="1")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("configuration error: CONNECTOR_REDIS_URL: memory://")


def test_serve_refuses_a_malformed_web_concurrency_in_one_line_exit_2(tmp_path: Path) -> None:
    result = serve(tmp_path, WEB_CONCURRENCY="lots")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("configuration error: WEB_CONCURRENCY:")
