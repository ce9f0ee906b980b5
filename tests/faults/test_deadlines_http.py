"""The deadline settings, from the environment to the adapters: a black-holed Cognito holds a
request no longer than CONNECTOR_COGNITO_TIMEOUT (not the AWS data-plane deadline), and each
other setting reaches the object it bounds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from support.envelopes import assert_envelope
from support.factories import make_connection
from support.servers import BlackHole, black_hole

from connector.adapters.redis_cache import RedisCache
from connector.adapters.sql import SqlDatabase
from connector.app import create_app
from connector.bootstrap import Container, build_container, open_database
from connector.errors import ErrorCode
from connector.settings import Settings

COGNITO_TIMEOUT = 1.0
AWS_TIMEOUT = 4.0  # longer, so a Cognito call bounded by it instead would be seen
MARGIN = 0.75


def _environment(tmp_path: Path, fernet_key: str, cognito_url: str) -> dict[str, str]:
    return {
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'connector.db'}",
        "CONNECTOR_ENCRYPTION_KEYS": fernet_key,
        "AWS_COGNITO_DOMAIN": cognito_url,
        "AWS_COGNITO_CLIENT_ID": "connector-client",
        "AWS_REGION": "us-east-1",
        "AWS_COGNITO_USER_POOL_ID": "us-east-1_Pool",
        "AWS_COGNITO_IDENTITY_POOL_ID": "us-east-1:11111111-2222-3333-4444-555555555555",
        "AWS_COGNITO_ISSUER": f"{cognito_url}/us-east-1_Pool",
        "CONNECTOR_COGNITO_TIMEOUT": str(COGNITO_TIMEOUT),
        "CONNECTOR_AWS_TIMEOUT": str(AWS_TIMEOUT),
    }


@pytest.fixture
def hole(monkeypatch: pytest.MonkeyPatch) -> Iterator[BlackHole]:
    """Cognito's Hosted UI and every AWS endpoint (Cognito Identity included) never answer."""
    with black_hole() as started:
        for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", started.url)
        yield started


@pytest.fixture
async def container(tmp_path: Path, fernet_key: str, hole: BlackHole) -> AsyncIterator[Container]:
    settings = Settings.from_env(_environment(tmp_path, fernet_key, hole.url))
    built = await build_container(settings)
    try:
        yield built
    finally:
        await built.close()


async def _answer_within_budget(
    container: Container, path: str, scope: str, **connection: datetime
) -> httpx.Response:
    now = datetime.now(UTC)
    times = {"issued_at": now - timedelta(minutes=5), "expires_at": now + timedelta(minutes=55)}
    seeded = make_connection("alice", container.cipher, **{**times, **connection})
    await container.store.put(seeded, expected_version=None)
    _, key = await container.services.api_keys.create("deadlines", scopes=[scope])
    app = create_app(container.settings, container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as http:
        started = time.monotonic()
        answer = await http.get(
            path, headers={"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
        )
        elapsed = time.monotonic() - started
    assert 0.9 * COGNITO_TIMEOUT <= elapsed < COGNITO_TIMEOUT + MARGIN, f"{elapsed:.2f} s"
    return answer


async def test_a_refresh_against_a_black_holed_token_endpoint_answers_within_the_budget(
    container: Container, hole: BlackHole
) -> None:
    now = datetime.now(UTC)
    answer = await _answer_within_budget(
        container,
        "/token",
        "token:read",
        issued_at=now - timedelta(minutes=55),  # 5 minutes left: the mandatory window
        expires_at=now + timedelta(minutes=5),
    )

    assert_envelope(answer, ErrorCode.UPSTREAM_UNAVAILABLE, 503)
    assert "Retry-After" in answer.headers
    assert hole.accepted >= 1


async def test_credentials_from_a_black_holed_cognito_identity_answer_within_the_budget(
    container: Container, hole: BlackHole
) -> None:
    answer = await _answer_within_budget(container, "/credentials", "credentials:read")

    body = assert_envelope(answer, ErrorCode.UPSTREAM_UNAVAILABLE, 503)
    assert body.details is not None
    assert body.details["upstreamCode"] in {"DeadlineExceededError", "ReadTimeoutError"}
    assert hole.accepted >= 1


async def test_each_deadline_setting_reaches_what_it_bounds(
    tmp_path: Path, fernet_key: str
) -> None:
    settings = Settings.from_env(
        {
            "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'connector.db'}",
            "CONNECTOR_ENCRYPTION_KEYS": fernet_key,
            "CONNECTOR_AWS_TIMEOUT": "7",
            "CONNECTOR_DATABASE_TIMEOUT": "0.75",
            "CONNECTOR_REDIS_RETRY_INTERVAL": "10",
        }
    )
    database = await open_database(settings)
    try:
        assert isinstance(database, SqlDatabase)
        assert database.timeout == 0.75
    finally:
        await database.close()
    container = await build_container(settings)
    try:
        assert container.aws_clients.deadline == 7.0
        config = container.aws_clients.client("s3", None).meta.config
        assert (config.connect_timeout, config.read_timeout) == (2.0, 7.0)
        assert isinstance(container.cache, RedisCache)
        assert container.cache.retry_interval == 10.0
    finally:
        await container.close()
