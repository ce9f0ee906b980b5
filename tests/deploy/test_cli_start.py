"""Fast start: `connector --help` loads no framework, SDK or driver, and each command loads only
what it uses (counted in sys.modules of a fresh interpreter, not timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

HEAVY = ("litestar", "boto3", "botocore", "sqlalchemy", "fakeredis", "moto", "redis", "authlib",
         "jose")  # fmt: skip

# Parse as `connector --help` does (argparse prints, then exits 0), then list what got loaded.
HELP_PROBE = """
import json, sys
import connector.cli
try:
    connector.cli.main(["--help"])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"exit": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""

COMMAND_PROBE = """
import json, sys
import connector.cli
code = connector.cli.main(sys.argv[1:])
print(json.dumps({"exit": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def probe(source: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """Run `source` in a fresh interpreter: the CLI's exit code and the top-level modules loaded."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", source, *args],
        env={"PATH": "/usr/bin:/bin", "CONNECTOR_LOG_LEVEL": "WARNING", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return int(found["exit"]), set(found["modules"])


def test_help_loads_no_framework_sdk_or_driver() -> None:
    exit_code, loaded = probe(HELP_PROBE)
    assert exit_code == 0
    assert "connector" in loaded  # the probe saw the CLI itself
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_connector_help_command_exits_0_and_lists_every_command() -> None:
    # The console script the package installs, beside this interpreter.
    connector = Path(sys.executable).with_name("connector")
    result = subprocess.run(  # noqa: S603 - our own CLI
        [str(connector), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "dev", "migrate", "keys", "encryption-key", "reencrypt"):
        assert command in result.stdout


def test_keys_list_loads_the_sql_adapter_and_nothing_of_aws_redis_or_the_web(
    tmp_path: Path,
) -> None:
    env = {
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}",
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    exit_code, loaded = probe(COMMAND_PROBE, "keys", "list", env=env)
    assert exit_code == 0
    assert "sqlalchemy" in loaded
    unneeded = {"litestar", "boto3", "botocore", "fakeredis", "moto", "redis", "authlib", "jose"}
    assert loaded.isdisjoint(unneeded), sorted(loaded & unneeded)


def test_encryption_key_generate_loads_no_database_or_framework() -> None:
    exit_code, loaded = probe(COMMAND_PROBE, "encryption-key", "generate")
    assert exit_code == 0
    assert "cryptography" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
