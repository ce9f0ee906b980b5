"""The connector's HTML pages (and its redirect back to the app) may not be framed by any site."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from support.oauth_world import world_settings

from connector.api.pages import page, redirect_back
from connector.app import create_app
from connector.bootstrap import build_container


def assert_unframeable(headers: httpx.Headers | dict[str, str]) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    directives = [d.strip() for d in lowered["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in directives
    assert lowered["x-frame-options"] == "DENY"


@pytest.fixture
async def http(tmp_path: Path, fernet_key: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = world_settings(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", "memory://", fernet_key)
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            yield client
    finally:
        await container.close()


async def test_the_expired_link_page_of_the_callback_cannot_be_framed(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/callback", params={"state": "unknown", "code": "c"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert_unframeable(answer.headers)


@pytest.mark.parametrize("status", [200, 400])
def test_every_page_and_the_redirect_back_carry_the_frame_headers(status: int) -> None:
    assert_unframeable(page("Connected", "You can close this window.", status).headers)
    assert_unframeable(redirect_back("https://app.example/done", status="connected").headers)
