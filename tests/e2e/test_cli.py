"""The `connector` command as operators use it: keys, migrate, encryption keys, reencrypt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from support.factories import make_connection

from connector.adapters.crypto import FernetCipher
from connector.adapters.sql import SqlDatabase


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "connector", *args],
        env={"PATH": "/usr/bin:/bin", "CONNECTOR_LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }


def test_keys_create_list_revoke_and_the_raw_key_is_never_stored(
    env: dict[str, str], tmp_path: Path
) -> None:
    created = run(env, "keys", "create", "--name", "reports", "--scope", "s3:read",
                  "--bucket", "reports-*", "--function", "etl-*", "--read-only")  # fmt: skip
    assert created.returncode == 0, created.stderr
    key: dict[str, Any] = json.loads(created.stdout)
    assert set(key) == {
        "id",
        "name",
        "key",
        "scopes",
        "buckets",
        "functions",
        "readOnly",
        "role",
        "createdAt",
    }
    assert key["role"] is None
    assert key["scopes"] == ["s3:read"]
    assert key["readOnly"] is True
    assert key["buckets"] == ["reports-*"]
    assert key["functions"] == ["etl-*"]
    assert key["createdAt"].endswith("Z")

    database_bytes = (tmp_path / "cli.db").read_bytes()
    wal = tmp_path / "cli.db-wal"
    if wal.exists():
        database_bytes += wal.read_bytes()
    assert key["key"].encode() not in database_bytes
    assert key["key"].split("_", 2)[2].encode() not in database_bytes

    listed = json.loads(run(env, "keys", "list").stdout)
    assert [k["name"] for k in listed] == ["reports"]
    assert "key" not in listed[0]
    assert listed[0]["revokedAt"] is None

    revoked = run(env, "keys", "revoke", "reports")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revokedAt"].endswith("Z")
    assert json.loads(run(env, "keys", "list").stdout)[0]["revokedAt"] is not None


def test_default_scopes_exclude_token_and_credentials(env: dict[str, str]) -> None:
    key = json.loads(run(env, "keys", "create", "--name", "app").stdout)
    assert key["scopes"] == sorted(
        ["connect", "connection:read", "s3:read", "s3:write", "lambda:read", "lambda:invoke"]
    )


def test_unknown_scope_or_duplicate_name_fails_with_a_message(env: dict[str, str]) -> None:
    bad = run(env, "keys", "create", "--name", "x", "--scope", "root")
    assert bad.returncode == 1
    assert "unknown scope" in bad.stderr
    assert run(env, "keys", "create", "--name", "dup").returncode == 0
    again = run(env, "keys", "create", "--name", "dup")
    assert again.returncode == 1
    assert "VALIDATION_ERROR" in again.stderr


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    for _ in range(2):
        result = run(env, "migrate")
        assert result.returncode == 0, result.stderr
        assert "at head" in result.stdout


def test_bad_configuration_is_one_line_naming_the_variable(env: dict[str, str]) -> None:
    result = run({**env, "CONNECTOR_REDIS_URL": "memcached://x"}, "keys", "list")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "CONNECTOR_REDIS_URL" in lines[0]


def test_serve_refuses_several_workers_with_the_memory_cache(env: dict[str, str]) -> None:
    result = run(env, "serve", "--workers", "2")
    assert result.returncode == 2
    assert "CONNECTOR_REDIS_URL" in result.stderr
    assert "memory://" in result.stderr


def test_generated_encryption_keys_are_fernet_keys() -> None:
    result = run({}, "encryption-key", "generate")
    assert result.returncode == 0
    Fernet(result.stdout.strip().encode())


async def test_rotation_and_reencrypt_round_trip_with_undecryptable_record_reported(
    env: dict[str, str],
) -> None:
    old = env["CONNECTOR_ENCRYPTION_KEYS"]
    new, lost = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert run(env, "migrate").returncode == 0
    database = SqlDatabase.from_url(env["CONNECTOR_DATABASE_URL"])
    try:
        await database.connections.put(
            make_connection("alice", FernetCipher((old,))), expected_version=None
        )
        await database.connections.put(
            make_connection("zed", FernetCipher((lost,))), expected_version=None
        )
    finally:
        await database.close()

    rotated = {**env, "CONNECTOR_ENCRYPTION_KEYS": f"{new},{old}"}
    first = run(rotated, "reencrypt")
    report = json.loads(first.stdout)
    assert first.returncode == 1  # one record could not be opened: reported, not dropped
    assert report == {
        "scanned": 2,
        "rewritten": 1,
        "current": 0,
        "failed": ["zed"],
        "conflicted": [],
    }
    assert "zed" in first.stderr

    again = json.loads(run(rotated, "reencrypt").stdout)
    assert (again["rewritten"], again["current"], again["failed"]) == (0, 1, ["zed"])

    database = SqlDatabase.from_url(env["CONNECTOR_DATABASE_URL"])
    try:
        alice = await database.connections.get("alice")
        assert await database.connections.get("zed") is not None
    finally:
        await database.close()
    assert alice is not None
    assert FernetCipher((new,)).open(alice.tokens.refresh_token or "") == "refresh-token-of-alice"


def test_keys_create_refuses_token_read_with_a_policy(env: dict[str, str]) -> None:
    refused = run(
        env, "keys", "create", "--name", "t", "--scope", "token:read", "--bucket", "demo-*"
    )
    assert refused.returncode == 1
    assert "token:read cannot go with" in refused.stderr
    assert json.loads(run(env, "keys", "list").stdout) == []


def test_keys_create_refuses_a_glob_iam_cannot_express(env: dict[str, str]) -> None:
    refused = run(env, "keys", "create", "--name", "c", "--read-only", "--bucket", "x[ab]")
    assert refused.returncode == 1
    assert "IAM cannot express" in refused.stderr


def test_keys_create_with_a_role_prints_it_and_refuses_what_is_not_a_role_arn(
    env: dict[str, str],
) -> None:
    role = "arn:aws:iam::123456789012:role/elevated"
    created = run(env, "keys", "create", "--name", "up", "--scope", "s3:read", "--role", role)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["role"] == role
    assert json.loads(run(env, "keys", "list").stdout)[0]["role"] == role
    refused = run(env, "keys", "create", "--name", "no", "--role", "elevated")
    assert refused.returncode == 1
    assert "IAM role ARN" in refused.stderr


def test_keys_create_provider_limits_a_key_to_configured_providers(
    env: dict[str, str], tmp_path: Path
) -> None:
    providers = tmp_path / "providers.toml"
    providers.write_text(
        "".join(
            f'[providers.{name}]\ndomain = "{name}-login"\nclient_id = "{name}-client"\n'
            f'region = "eu-west-1"\nuser_pool_id = "eu-west-1_{name}"\n'
            for name in ("acme", "globex")
        )
    )
    env = {**env, "CONNECTOR_PROVIDERS_FILE": str(providers)}
    created = run(env, "keys", "create", "--name", "acme-only", "--provider", "acme",
                  "--provider", "globex")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["providers"] == ["acme", "globex"]
    listed = json.loads(run(env, "keys", "list").stdout)
    assert listed[0]["providers"] == ["acme", "globex"]
    unknown = run(env, "keys", "create", "--name", "other", "--provider", "initech")
    assert unknown.returncode == 1
    assert "provider 'initech' is not configured: choose from acme, globex" in unknown.stderr
    malformed = run(env, "keys", "create", "--name", "bad", "--provider", "Acme!")
    assert malformed.returncode == 1
    assert "1-32 characters of a-z 0-9 -" in malformed.stderr
    everyone = json.loads(run(env, "keys", "create", "--name", "everyone").stdout)
    assert "providers" not in everyone  # every provider
