"""`connector serve` as a process refuses to start on a schema that is not at head (PostgreSQL
deployments run `connector migrate` themselves): one line naming the variable, exit 2, nothing
bound. With the schema migrated, the same settings serve."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
from cryptography.fernet import Fernet
from support.serve_processes import own_database, own_prefix, serve_environment
from support.servers import LOCALHOST, answers, free_port

EXIT_CONFIG = 2
START_TIMEOUT = 90.0


def serve(environment: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "connector", "serve", "--host", LOCALHOST, "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_refuses_a_schema_behind_head_in_one_line_and_serves_once_migrated() -> None:
    with own_database() as database_url, own_prefix() as prefix:
        port = free_port()
        environment = serve_environment(
            database_url=database_url,
            redis_url="redis://127.0.0.1:6379/0",
            prefix=prefix,
            public_url=f"http://{LOCALHOST}:{port}",
            extra={
                "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "CONNECTOR_AUTO_MIGRATE": "false",
            },
        )
        refused = serve(environment, port)
        _, stderr = refused.communicate(timeout=START_TIMEOUT)
        assert refused.returncode == EXIT_CONFIG
        (line,) = stderr.strip().splitlines()
        assert line.startswith("configuration error: CONNECTOR_DATABASE_URL:")
        assert "connector migrate" in line
        assert not answers(port)

        migrated = subprocess.run(
            [sys.executable, "-m", "connector", "migrate"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        serving = serve(environment, port)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://{LOCALHOST}:{port}/health/ready", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert httpx.get(f"http://{LOCALHOST}:{port}/health", timeout=5).status_code == 200
        finally:
            serving.terminate()
            serving.communicate(timeout=15)
