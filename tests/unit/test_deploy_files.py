"""deploy/: the manifests parse and name only configuration variables the code reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAME = re.compile(r"\b((?:AWS|CONNECTOR)_[A-Z_]+)\b")


def known_variables() -> set[str]:
    """Every variable name the settings module (and boto3's standard ones we rely on) reads."""
    names = set(NAME.findall((ROOT / "connector" / "settings.py").read_text()))
    assert "CONNECTOR_DATABASE_URL" in names  # the scan itself works
    return names


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_variable_in_the_env_example_is_read_by_the_code() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names
    assert names <= known_variables()


def test_kubernetes_manifests_parse_and_use_known_variables() -> None:
    kinds = {}
    for path in (DEPLOY / "kubernetes").glob("*.yaml"):
        for doc in documents(path):
            kinds[doc["kind"]] = doc
            for key in {**doc.get("data", {}), **doc.get("stringData", {})}:
                assert key in known_variables(), (path.name, key)
    assert {"Deployment", "Service", "Job", "ConfigMap", "Secret"} <= set(kinds)
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["connector", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert kinds["Job"]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "connector",
        "migrate",
    ]


def test_compose_migrates_before_serving() -> None:
    (compose,) = documents(DEPLOY / "compose.yaml")
    services = compose["services"]
    assert services["migrate"]["command"] == ["connector", "migrate"]
    assert services["connector"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["connector"]["ports"] == ["127.0.0.1:8000:8000"]
