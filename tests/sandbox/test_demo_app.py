"""The demo app's integration with the connector, against a fake connector: the return URL is
settled before anything renders, only for sign-ins this session started, and leaves a clean URL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from connector.sandbox.demo_app import DemoAppConfig, create_demo_app
from connector.sandbox.demo_app.sessions import COOKIE

APP = "http://demo-app.test"
CONFIG = DemoAppConfig(
    url=APP,
    connector_url="http://connector.test",
    api_key="ck_demo_key",
    hosted_ui_url="http://hosted-ui.test",
    function_name="demo-echo",
)
CONNECTION = {"userId": "alice", "status": "active", "username": "demo", "email": "d@example.com"}


class FakeConnector:
    """The connector's HTTP API as scripted answers; every request it received is kept."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[tuple[str, str], httpx.Response] = {
            ("GET", "/connect"): _ok({"authUrl": "http://hosted-ui.test/authorize", "state": "s1"}),
            ("POST", "/connect/confirm"): _ok(CONNECTION),
            ("POST", "/connect/reject"): _ok({"rejected": True}),
            ("GET", "/connection"): _error(404, "NOT_CONNECTED"),
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.get((request.method, request.url.path), _error(404, "NOT_FOUND"))

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def _ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data, "timestamp": 1})


def _error(status: int, code: str) -> httpx.Response:
    body = {"success": False, "error": code.lower(), "code": code, "timestamp": 1}
    return httpx.Response(status, json=body)


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector()


@pytest.fixture
async def browser(connector: FakeConnector) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_demo_app(CONFIG, transport=httpx.MockTransport(connector.handle))
    async with AsyncTestClient(app=app, base_url=APP) as client:
        yield client


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def _post(browser: AsyncTestClient[Any], path: str, **fields: str) -> httpx.Response:
    page = await browser.get("/")
    return await browser.post(path, data={"csrf": _csrf(page), **fields}, follow_redirects=False)


async def _signed_in_and_started(browser: AsyncTestClient[Any], user: str = "alice") -> None:
    await _post(browser, "/session", user=user)
    started = await _post(browser, "/connect")
    assert (started.status_code, started.headers["location"]) == (
        303,
        "http://hosted-ui.test/authorize",
    )


async def test_connect_starts_a_flow_for_the_signed_in_user_with_the_apps_return_url(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _signed_in_and_started(browser)

    (start,) = connector.calls("/connect")
    assert start.headers["X-User-Id"] == "alice"
    assert start.headers["Authorization"] == "Bearer ck_demo_key"
    assert start.url.params["redirect_uri"] == f"{APP}/return"


async def test_a_pending_sign_in_this_session_started_is_confirmed_then_a_clean_303(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _signed_in_and_started(browser)

    back = await browser.get(
        "/return?status=pending&state=s1&confirmation=c-1", follow_redirects=False
    )

    assert (back.status_code, back.headers["location"], back.content) == (303, "/", b"")
    assert back.headers["referrer-policy"] == "no-referrer"
    (confirm,) = connector.calls("/connect/confirm")
    assert json.loads(confirm.content) == {"confirmation": "c-1"}
    assert confirm.headers["X-User-Id"] == "alice"
    assert confirm.headers["Authorization"] == "Bearer ck_demo_key"
    assert connector.calls("/connect/reject") == []
    connector.answers[("GET", "/connection")] = _ok(CONNECTION)
    home = await browser.get("/")
    assert 'data-outcome="connected"' in home.text
    assert "Connected as demo / d@example.com." in home.text


async def test_a_state_this_session_did_not_start_is_rejected_never_confirmed(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _post(browser, "/session", user="victim")

    back = await browser.get(
        "/return?status=pending&state=someone-elses&confirmation=c-2", follow_redirects=False
    )

    assert back.status_code == 303
    assert connector.calls("/connect/confirm") == []
    (reject,) = connector.calls("/connect/reject")
    assert json.loads(reject.content) == {"confirmation": "c-2"}
    assert "X-User-Id" not in reject.headers
    assert 'data-outcome="mismatch"' in (await browser.get("/")).text


async def test_a_browser_without_a_session_rejects_what_it_is_handed(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    back = await browser.get("/return?status=pending&state=s1&confirmation=c-3")

    assert back.status_code == 200  # followed to the clean page
    assert 'data-outcome="mismatch"' in back.text
    assert [r.url.path for r in connector.requests] == ["/connect/reject"]


async def test_a_state_is_settled_once(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _signed_in_and_started(browser)
    await browser.get("/return?status=pending&state=s1&confirmation=c-4")

    await browser.get("/return?status=pending&state=s1&confirmation=c-5")

    assert len(connector.calls("/connect/confirm")) == 1
    (reject,) = connector.calls("/connect/reject")
    assert json.loads(reject.content) == {"confirmation": "c-5"}


async def test_signing_in_as_another_app_user_forgets_the_flows_started_before(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _signed_in_and_started(browser, "mallory")
    await _post(browser, "/session", user="victim")

    await browser.get("/return?status=pending&state=s1&confirmation=c-6")

    assert connector.calls("/connect/confirm") == []
    assert len(connector.calls("/connect/reject")) == 1


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (_error(409, "IDENTITY_MISMATCH"), "mismatch"),
        (_error(400, "INVALID_STATE"), "expired"),
        (_error(503, "UPSTREAM_UNAVAILABLE"), "error"),
    ],
)
async def test_a_refused_confirmation_is_told_apart(
    browser: AsyncTestClient[Any], connector: FakeConnector, answer: httpx.Response, outcome: str
) -> None:
    connector.answers[("POST", "/connect/confirm")] = answer
    await _signed_in_and_started(browser)

    home = await browser.get("/return?status=pending&state=s1&confirmation=c-7")

    assert f'data-outcome="{outcome}"' in home.text
    assert answer.json()["code"] in home.text


@pytest.mark.parametrize(
    ("query", "outcome", "code"),
    [
        ("error=CALLBACK_FAILED&reason=access_denied", "cancelled", "reason=access_denied"),
        ("error=IDENTITY_MISMATCH", "mismatch", "error=IDENTITY_MISMATCH"),
        ("error=UPSTREAM_UNAVAILABLE", "error", "error=UPSTREAM_UNAVAILABLE"),
        ("error=%3Cscript%3Ealert(1)%3C/script%3E", "error", "error=unexpected"),
    ],
)
async def test_an_error_on_the_return_url_is_shown_as_a_code(
    browser: AsyncTestClient[Any], connector: FakeConnector, query: str, outcome: str, code: str
) -> None:
    await _signed_in_and_started(browser)

    home = await browser.get(f"/return?{query}&state=s1")

    assert f'data-outcome="{outcome}"' in home.text
    assert code in home.text
    assert "<script>" not in home.text
    assert connector.calls("/connect/confirm") == connector.calls("/connect/reject") == []


async def test_the_session_cookie_is_httponly_samesite_lax_and_renewed_at_sign_in(
    browser: AsyncTestClient[Any],
) -> None:
    first = (await browser.get("/")).headers["set-cookie"]
    assert first.startswith(f"{COOKIE}=")
    assert "HttpOnly" in first
    assert "SameSite=Lax" in first

    signed_in = await _post(browser, "/session", user="alice")

    assert signed_in.headers["set-cookie"].split(";")[0] != first.split(";")[0]


async def test_a_forged_cookie_opens_a_fresh_session(browser: AsyncTestClient[Any]) -> None:
    await _post(browser, "/session", user="alice")
    session_id = browser.cookies[COOKIE].split(".")[0]
    browser.cookies.set(COOKIE, f"{session_id}.forged-signature")

    page = await browser.get("/")

    assert 'id="app-user"' not in page.text


async def test_a_form_without_the_sessions_csrf_token_is_refused(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _post(browser, "/session", user="alice")

    refused = await browser.post("/connect", data={"csrf": "guess"}, follow_redirects=False)

    assert refused.status_code == 403
    assert connector.calls("/connect") == []


async def test_app_user_ids_are_checked_as_the_connector_checks_them(
    browser: AsyncTestClient[Any],
) -> None:
    await _post(browser, "/session", user="<b>x</b>")
    refused = await browser.get("/")
    assert "<b>x</b>" not in refused.text
    assert 'id="app-user"' not in refused.text
    assert 'data-outcome="error"' in refused.text

    await _post(browser, "/session", user="alice+test@example.com")
    assert '<b id="app-user">alice+test@example.com</b>' in (await browser.get("/")).text


async def test_pages_run_no_script_and_post_only_where_the_flow_goes(
    browser: AsyncTestClient[Any],
) -> None:
    page = await browser.get("/")

    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "form-action 'self' http://hosted-ui.test http://connector.test" in policy
    assert "<script" not in page.text


def test_the_readme_quotes_the_reference_integration_as_it_is() -> None:
    root = Path(__file__).resolve().parents[2]
    source = (root / "connector/sandbox/demo_app/sign_in.py").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The reference integration", 1)[1]
    quoted = section.split("```python\n", 1)[1].split("```", 1)[0]

    assert quoted.strip() == source[source.index('@post("/connect")') :].strip()


TWO_PROVIDERS = DemoAppConfig(
    url=APP,
    connector_url="http://connector.test",
    api_key="ck_demo_key",
    hosted_ui_url="http://hosted-ui.test",
    function_name="demo-echo",
    providers=("default", "partner"),
    other_hosted_ui_urls=("http://partner-ui.test",),
)


@pytest.fixture
async def two_providers(connector: FakeConnector) -> AsyncIterator[AsyncTestClient[Any]]:
    connector.answers[("GET", "/connections")] = _ok(
        {"connections": [{**CONNECTION, "provider": "partner", "email": "p@example.com"}]}
    )
    connector.answers[("POST", "/disconnect")] = _ok({"disconnected": True, "revoked": True})
    app = create_demo_app(TWO_PROVIDERS, transport=httpx.MockTransport(connector.handle))
    async with AsyncTestClient(app=app, base_url=APP) as client:
        yield client


async def test_with_several_providers_the_home_page_shows_each_and_connects_to_one(
    two_providers: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _post(two_providers, "/session", user="alice")
    page = await two_providers.get("/")
    assert 'id="provider-partner" data-status="connected"' in page.text
    assert "p@example.com" in page.text
    assert 'id="provider-default" data-status="not-connected"' in page.text
    assert 'id="connect-default"' in page.text
    assert 'id="disconnect-partner"' in page.text
    assert "http://partner-ui.test" in page.headers["content-security-policy"]

    started = await _post(two_providers, "/connect", provider="partner")
    assert started.status_code == 303
    (start,) = connector.calls("/connect")
    assert start.url.params["provider"] == "partner"
    assert start.url.params["redirect_uri"] == f"{APP}/return"

    await _post(two_providers, "/disconnect", provider="partner")
    (gone,) = connector.calls("/disconnect")
    assert gone.url.params["provider"] == "partner"


async def test_with_one_provider_connect_names_none(
    browser: AsyncTestClient[Any], connector: FakeConnector
) -> None:
    await _signed_in_and_started(browser)
    (start,) = connector.calls("/connect")
    assert "provider" not in start.url.params
    assert 'id="providers"' not in (await browser.get("/")).text
