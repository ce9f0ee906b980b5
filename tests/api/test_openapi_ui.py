"""/schema/swagger: the browsable OpenAPI page loads everything from the connector itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from support.oauth_world import world_settings

from connector.app import create_app
from connector.bootstrap import build_container


class _References(HTMLParser):
    """Every URL the page makes the browser fetch (src and href attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


@pytest.fixture
async def http(tmp_path: Any, fernet_key: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = world_settings(f"sqlite+aiosqlite:///{tmp_path / 's.db'}", "memory://", fernet_key)
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as c:
            yield c
    finally:
        await container.close()


async def test_the_page_references_only_the_connectors_own_origin(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/schema/swagger")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = _References()
    references.feed(page.text)
    assert len(references.urls) == 4  # the script bundle, its preset, the stylesheet, the icon
    for url in references.urls:
        assert url.startswith("/schema/swagger/assets/"), url
    assert "cdn." not in page.text
    assert "https://" not in page.text.split("<body", 1)[0]


async def test_every_asset_the_page_references_answers_200(http: httpx.AsyncClient) -> None:
    references = _References()
    references.feed((await http.get("/schema/swagger")).text)
    expected_types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}

    for url in references.urls:
        asset = await http.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rindex(".") :]
        assert asset.headers["content-type"].startswith(expected_types[suffix]), url
        assert len(asset.content) > 500, url


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-initializer.js", "..%2F__init__.py", "swagger-ui.js.map"]
)
async def test_nothing_else_of_the_package_is_served(http: httpx.AsyncClient, name: str) -> None:
    answer = await http.get(f"/schema/swagger/assets/{name}")

    assert answer.status_code == 404
