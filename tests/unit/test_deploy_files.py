"""deploy/ and the Procfile name only variables something reads, and the Procfile migrates on
release and leaves the worker count to `connector serve` (tests/deploy checks the rest)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAME = re.compile(r"\b((?:AWS|CONNECTOR)_[A-Z_]+)\b")
INTERPOLATED = re.compile(r"\$\{([A-Z_]+)")


def known_variables() -> set[str]:
    """Every variable name the settings module (and boto3's standard ones we rely on) reads."""
    names = set(NAME.findall((ROOT / "connector" / "settings.py").read_text()))
    assert "CONNECTOR_DATABASE_URL" in names  # the scan itself works
    return names


def compose_variables() -> set[str]:
    """The variables deploy/compose.yaml interpolates (its passwords)."""
    names = set(INTERPOLATED.findall((DEPLOY / "compose.yaml").read_text()))
    assert names == {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}
    return names


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_variable_in_the_env_example_is_read_by_the_code_or_compose() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert "CONNECTOR_ENCRYPTION_KEYS" in names
    assert names <= known_variables() | compose_variables()


def test_kubernetes_config_and_secret_keys_are_variables_the_code_reads() -> None:
    keys: set[str] = set()
    for path in (DEPLOY / "kubernetes").rglob("*.yaml"):
        for doc in documents(path):
            keys |= {*doc.get("data", {}), *doc.get("stringData", {})}
    assert {"CONNECTOR_DATABASE_URL", "CONNECTOR_ENV", "AWS_COGNITO_DOMAIN"} <= keys
    assert keys <= known_variables()


def test_the_procfile_migrates_on_release_and_lets_serve_read_web_concurrency() -> None:
    processes = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert processes["release"] == "connector migrate"
    web = processes["web"].split()
    assert web[:2] == ["connector", "serve"]
    assert web[web.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - the platform routes to it
    assert web[web.index("--port") + 1] == "$PORT"
    # An explicit --workers would make WEB_CONCURRENCY > 1 with memory:// a refusal to start.
    assert "--workers" not in web
