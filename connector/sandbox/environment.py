"""The connector's settings under `connector dev`, and the env file it leaves beside its data."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connector.adapters.crypto import generate_key

ENV_FILE = "dev.env"
_OURS = "CONNECTOR_"
# Derived from the sandbox at each start: never carried to the next one by the env file. (The MCP
# agent client is the stand-in's: the CLI beside the sandbox has no Cognito to check it against.)
_PER_START = ("CONNECTOR_PUBLIC_URL", "CONNECTOR_REDIRECT_ALLOWLIST", "CONNECTOR_MCP_CLIENT_IDS")


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """The connector's environment, and which of its CONNECTOR_* values the developer set."""

    environ: dict[str, str]
    from_developer: tuple[str, ...]


def public_url(developer: Mapping[str, str], default: str) -> str:
    """The connector's public URL: the developer's, else where `connector dev` serves it."""
    return (developer.get("CONNECTOR_PUBLIC_URL") or default).rstrip("/")


def sandbox_settings(
    developer: Mapping[str, str],
    *,
    sandbox: Mapping[str, str],
    return_urls: tuple[str, ...],
    data_dir: Path,
) -> SandboxSettings:
    """`sandbox` (Cognito and AWS: the emulators') always; every CONNECTOR_* the developer set
    over the sandbox's defaults; the demo app's return URLs added to any allow-list given."""
    chosen = {name: value for name, value in developer.items() if name.startswith(_OURS)}
    allowed = [u.strip() for u in chosen.get("CONNECTOR_REDIRECT_ALLOWLIST", "").split(",")]
    defaults = {
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'connector.db'}",
        "CONNECTOR_REDIS_URL": "memory://",
    }
    if "CONNECTOR_ENCRYPTION_KEYS" not in chosen:
        defaults["CONNECTOR_ENCRYPTION_KEYS"] = _encryption_key(data_dir / "encryption.key")
    environ = {
        **defaults,
        **chosen,
        "CONNECTOR_REDIRECT_ALLOWLIST": ",".join(
            dict.fromkeys(u for u in (*allowed, *return_urls) if u)
        ),
        **sandbox,
    }
    return SandboxSettings(environ, tuple(sorted(chosen)))


def write_env_file(path: Path, settings: SandboxSettings, extra: Mapping[str, str]) -> None:
    """Shell assignments (`set -a; . FILE; set +a`): `extra` (URLs, the key), then the settings
    the CLI needs to reach the same database with the same keys. Mode 0600: it holds secrets."""
    stored = {
        name: value
        for name, value in sorted(settings.environ.items())
        if name.startswith(_OURS) and name not in _PER_START
    }
    lines = [
        "# Written by `connector dev` at each start (the key and ports change with it).",
        f"# In another shell:  set -a; . {shlex.quote(str(path))}; set +a",
        *(f"{name}={shlex.quote(value)}" for name, value in {**extra, **stored}.items()),
    ]
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _encryption_key(path: Path) -> str:
    """The sandbox's Fernet key: made at the first start, then kept so stored tokens stay open."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(generate_key() + "\n", encoding="ascii")
    return path.read_text(encoding="ascii").strip()
