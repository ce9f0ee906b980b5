"""No query string in any access line: codes, states and confirmations reach the connector,
the Hosted UI stand-in and the demo app in the query, and the real uvicorn access log of
`connector serve` (one worker or several) and of `connector dev` (every server) must not write
them down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from support.dev_stack import running_dev_stack
from support.servers import free_port

SECRET_CODE, SECRET_STATE = "SECRET-CODE-5d1e", "SECRET-STATE-8b2c"
QUERY = {"code": SECRET_CODE, "state": SECRET_STATE}
TRACE = "trace-unknown-path-1"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("workers", [1, 2])
def test_connector_serve_logs_requests_without_their_query(
    tmp_path: Path, redis_prefix: str, workers: int
) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        # Several workers need a shared cache; this test's own prefix on the real Redis.
        "CONNECTOR_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CONNECTOR_REDIS_PREFIX": redis_prefix,
        "CONNECTOR_LOG_LEVEL": "INFO",
        # Cognito as configured (never reached: an unknown state is refused before any call).
        "AWS_COGNITO_DOMAIN": "http://127.0.0.1:9",
        "AWS_COGNITO_CLIENT_ID": "client",
        "AWS_REGION": "us-east-1",
        "AWS_COGNITO_USER_POOL_ID": "us-east-1_Pool1",
    }
    command = [sys.executable, "-m", "connector", "serve", "--port", str(port)]
    server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: server.poll() is None and answers(f"{base}/health"))
        for path in ("/callback", "/health", "/connect/status/x"):
            httpx.get(f"{base}{path}", params=QUERY, timeout=10)
        unknown = httpx.get(f"{base}/no/such/path", headers={"X-Request-Id": TRACE}, timeout=10)
        assert unknown.headers["x-request-id"] == TRACE
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    # Every line goes to stderr, through the one redacting handler.
    access = [line for line in err.splitlines() if '"GET /' in line]
    assert any('"GET /callback HTTP/1.1" 400' in line for line in access), out + err
    assert any('"GET /health HTTP/1.1" 200' in line for line in access), out + err
    # An answer given before any route ran (404) is logged with the request's id as well.
    (not_found,) = [line for line in access if '"GET /no/such/path HTTP/1.1" 404' in line]
    assert f"request_id={TRACE}" in not_found, not_found
    for secret in (SECRET_CODE, SECRET_STATE, "?"):
        assert not any(secret in line for line in access), access
    assert SECRET_CODE not in out + err
    assert SECRET_STATE not in out + err


def test_connector_dev_logs_requests_to_its_servers_without_their_query(
    tmp_path: Path,
) -> None:
    with running_dev_stack(tmp_path) as stack:
        httpx.get(f"{stack.url}/callback", params=QUERY, timeout=10)
        authorize = {"client_id": "nobody", "response_type": "code", **QUERY}
        httpx.get(f"{stack.facts['hostedUiUrl']}/oauth2/authorize", params=authorize, timeout=10)
        # The demo app's return URL, as the connector sends a browser back with a confirmation.
        back = {"status": "pending", "state": SECRET_STATE, "confirmation": SECRET_CODE}
        httpx.get(stack.facts["demoReturnUrl"], params=back, timeout=10)
        return_path = urlsplit(stack.facts["demoReturnUrl"]).path
        wait_for(lambda: f"GET {return_path} HTTP/1.1" in stack.log.read_text(), timeout=10)
        text = stack.log.read_text()
    assert '"GET /callback HTTP/1.1" 400' in text, text[-4000:]
    assert '"GET /oauth2/authorize HTTP/1.1" 400' in text, text[-4000:]
    assert f'"GET {return_path} HTTP/1.1"' in text, text[-4000:]
    assert SECRET_CODE not in text
    assert SECRET_STATE not in text
