"""`connector dev`'s settings: the developer's CONNECTOR_* win, the sandbox keeps Cognito and AWS,
and the env file it writes is what a shell beside it needs."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from connector.sandbox.environment import public_url, sandbox_settings, write_env_file

SANDBOX = {"AWS_COGNITO_DOMAIN": "http://127.0.0.1:9229", "AWS_REGION": "us-east-1"}
RETURNS = ("http://127.0.0.1:3000/return", "http://127.0.0.1:3000/echo")


def test_the_developers_connector_settings_win_and_cognito_stays_the_sandboxes(
    tmp_path: Path,
) -> None:
    developer = {
        "CONNECTOR_DATABASE_URL": "postgresql+asyncpg://me@127.0.0.1/mine",
        "CONNECTOR_IDENTITY_BINDING": "claim:sub",
        "AWS_COGNITO_DOMAIN": "https://real.auth.example.com",
        "HOME": "/root",
    }

    settings = sandbox_settings(developer, sandbox=SANDBOX, return_urls=RETURNS, data_dir=tmp_path)

    assert settings.environ["CONNECTOR_DATABASE_URL"] == "postgresql+asyncpg://me@127.0.0.1/mine"
    assert settings.environ["CONNECTOR_IDENTITY_BINDING"] == "claim:sub"
    assert settings.environ["CONNECTOR_REDIS_URL"] == "memory://"
    assert settings.environ["AWS_COGNITO_DOMAIN"] == "http://127.0.0.1:9229"
    assert "HOME" not in settings.environ
    assert settings.from_developer == ("CONNECTOR_DATABASE_URL", "CONNECTOR_IDENTITY_BINDING")


def test_the_allow_list_keeps_the_developers_entries_then_adds_the_demo_apps(
    tmp_path: Path,
) -> None:
    developer = {
        "CONNECTOR_REDIRECT_ALLOWLIST": "https://app.example/back, http://127.0.0.1:3000/echo"
    }

    settings = sandbox_settings(developer, sandbox=SANDBOX, return_urls=RETURNS, data_dir=tmp_path)

    assert settings.environ["CONNECTOR_REDIRECT_ALLOWLIST"] == (
        "https://app.example/back,http://127.0.0.1:3000/echo,http://127.0.0.1:3000/return"
    )
    alone = sandbox_settings({}, sandbox=SANDBOX, return_urls=RETURNS, data_dir=tmp_path)
    assert alone.environ["CONNECTOR_REDIRECT_ALLOWLIST"] == ",".join(RETURNS)


def test_the_sandboxes_encryption_key_is_made_once_and_only_when_none_is_given(
    tmp_path: Path,
) -> None:
    first = sandbox_settings({}, sandbox=SANDBOX, return_urls=RETURNS, data_dir=tmp_path)
    again = sandbox_settings({}, sandbox=SANDBOX, return_urls=RETURNS, data_dir=tmp_path)
    key_file = tmp_path / "encryption.key"

    assert first.environ["CONNECTOR_ENCRYPTION_KEYS"] == again.environ["CONNECTOR_ENCRYPTION_KEYS"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    given = {"CONNECTOR_ENCRYPTION_KEYS": "mine"}
    sandbox_settings(given, sandbox=SANDBOX, return_urls=RETURNS, data_dir=elsewhere)
    assert not (elsewhere / "encryption.key").exists()


def test_the_env_file_is_private_and_a_shell_reads_back_every_value(tmp_path: Path) -> None:
    developer = {"CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/it's here.db"}
    settings = sandbox_settings(developer, sandbox=SANDBOX, return_urls=RETURNS, data_dir=tmp_path)
    env_file = tmp_path / "dev.env"

    write_env_file(env_file, settings, {"KEY": "ck_1_$(not a command)", "CONNECTOR_URL": "u"})

    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    read = subprocess.run(  # noqa: S603 - a fixed script over the file just written
        [
            "/bin/bash",
            "-c",
            f'set -a; . "{env_file}"; set +a; '
            'printf "%s\\n" "$KEY" "$CONNECTOR_DATABASE_URL" "$CONNECTOR_REDIS_URL"',
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    assert read.stdout.splitlines() == [
        "ck_1_$(not a command)",
        f"sqlite+aiosqlite:///{tmp_path}/it's here.db",
        "memory://",
    ]
    text = env_file.read_text(encoding="utf-8")
    assert "CONNECTOR_PUBLIC_URL" not in text
    assert "CONNECTOR_REDIRECT_ALLOWLIST" not in text
    assert "AWS_COGNITO_DOMAIN" not in text


def test_the_public_url_is_the_developers_without_a_trailing_slash() -> None:
    assert public_url({}, "http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert public_url({"CONNECTOR_PUBLIC_URL": "https://c.example/"}, "x") == "https://c.example"
