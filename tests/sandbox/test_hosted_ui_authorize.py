"""GET /oauth2/authorize and POST /login: validation, error routing, the form and its escaping."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support.hosted_ui_harness import (
    ALICE,
    CALLBACK,
    SPA_CLIENT,
    WEB_CLIENT,
    Sandbox,
    SandboxFactory,
    parse_form,
)

from connector.sandbox.hosted_ui import AppClient


def _redirect_query(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return parse_qs(location.query)


async def test_authorize_renders_a_post_form_carrying_the_request(sandbox: Sandbox) -> None:
    response = await sandbox.authorize(state="s-1", nonce="n-1", scope="openid email")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    form = parse_form(response.text)
    assert form.form == {"method": "post", "action": "/login"}
    assert form.hidden["client_id"] == WEB_CLIENT
    assert form.hidden["redirect_uri"] == CALLBACK
    assert form.hidden["scope"] == "openid email"
    assert form.hidden["state"] == "s-1"
    assert form.hidden["nonce"] == "n-1"
    assert form.hidden["code_challenge_method"] == "S256"
    assert 'name="password" type="password"' in response.text


@pytest.mark.parametrize(
    ("overrides", "expected_error"),
    [
        ({"client_id": "no-such-client"}, "invalid_request"),
        ({"client_id": None}, "invalid_request"),
        ({"redirect_uri": "http://app.test/callback/"}, "redirect_mismatch"),
        ({"redirect_uri": "http://evil.test/callback"}, "redirect_mismatch"),
        ({"redirect_uri": None}, "redirect_mismatch"),
    ],
)
async def test_errors_without_a_trusted_redirect_render_a_400_page(
    sandbox: Sandbox, overrides: dict[str, str | None], expected_error: str
) -> None:
    response = await sandbox.authorize(**overrides)

    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-error="{expected_error}"' in response.text


@pytest.mark.parametrize(
    ("overrides", "expected_error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unauthorized_client"),
        ({"response_type": "id_token"}, "unsupported_response_type"),
        ({"scope": "openid admin:everything"}, "invalid_scope"),
        ({"scope": "email"}, "invalid_scope"),
    ],
)
async def test_other_errors_redirect_with_error_and_state(
    sandbox: Sandbox, overrides: dict[str, str | None], expected_error: str
) -> None:
    response = await sandbox.authorize(state="keep-me", **overrides)

    assert _redirect_query(response) == {"error": [expected_error], "state": ["keep-me"]}


async def test_client_without_the_code_flow_is_unauthorized_client(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox(
        clients=(AppClient(WEB_CLIENT, callback_urls=(CALLBACK,), allowed_flows=()),)
    )

    response = await sandbox.authorize(state="s")

    assert _redirect_query(response)["error"] == ["unauthorized_client"]


async def test_pkce_methods_are_recorded_even_when_refused(sandbox: Sandbox) -> None:
    await sandbox.authorize(code_challenge_method="plain")
    await sandbox.authorize()
    await sandbox.authorize(code_challenge=None, code_challenge_method=None)

    assert sandbox.hosted_ui.stats.pkce_methods == {"plain": 1, "S256": 1, "none": 1}


async def test_state_with_markup_is_escaped_in_the_form(sandbox: Sandbox) -> None:
    hostile = '"><script>alert(1)</script>'

    response = await sandbox.authorize(state=hostile, nonce="<img src=x onerror=alert(2)>")

    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "<img" not in response.text
    assert "&lt;script&gt;" in response.text
    assert parse_form(response.text).hidden["state"] == hostile


async def test_redirect_error_url_encodes_a_hostile_state(sandbox: Sandbox) -> None:
    hostile = "<script>x</script>&evil=1"

    response = await sandbox.authorize(state=hostile, code_challenge_method="plain")

    query = _redirect_query(response)
    assert query == {"error": ["invalid_request"], "state": [hostile]}


async def test_wrong_password_re_renders_the_form_with_a_message(sandbox: Sandbox) -> None:
    page = await sandbox.authorize(state="s-2")

    response = await sandbox.submit_login(page, "<b>alice</b>", "wrong")

    assert response.status_code == 200
    assert "Incorrect username or password." in response.text
    assert "<b>" not in response.text
    assert 'value="&lt;b&gt;alice&lt;/b&gt;"' in response.text
    assert parse_form(response.text).hidden["state"] == "s-2"
    assert sandbox.hosted_ui.stats.login_failures == 1


async def test_login_redirects_with_a_code_and_the_state(sandbox: Sandbox) -> None:
    page = await sandbox.authorize(state="s-3")

    response = await sandbox.submit_login(page, ALICE.username, ALICE.password)

    query = _redirect_query(response)
    assert query["state"] == ["s-3"]
    assert len(query["code"][0]) >= 32


async def test_login_post_revalidates_the_request(sandbox: Sandbox) -> None:
    page = await sandbox.authorize(state="s-4")
    form = parse_form(page.text)
    forged = {**form.hidden, "redirect_uri": "http://evil.test/cb", "username": "alice"}

    response = await sandbox.http.post("/login", data={**forged, "password": ALICE.password})

    assert response.status_code == 400
    assert "location" not in response.headers


async def test_public_client_login_page_works_like_the_confidential_one(sandbox: Sandbox) -> None:
    response = await sandbox.authorize(client_id=SPA_CLIENT)

    assert response.status_code == 200
    assert parse_form(response.text).hidden["client_id"] == SPA_CLIENT


async def test_the_page_policy_lets_the_redirect_chain_through_and_runs_no_script(
    sandbox: Sandbox,
) -> None:
    # Chromium checks `form-action` against every redirect after the POST (the callback, then
    # the app's own return URL): a list here would stop the sign-in at the callback.
    response = await sandbox.authorize()

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert "form-action" not in policy
    assert policy["default-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    style = response.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'"


async def test_cancel_needs_no_script_and_skips_the_required_fields(sandbox: Sandbox) -> None:
    response = await sandbox.authorize()

    assert '<button type="submit" name="cancel" value="cancel" formnovalidate>' in response.text
    assert "<script" not in response.text


async def test_cancel_sends_access_denied_and_the_state_to_the_callback(sandbox: Sandbox) -> None:
    page = await sandbox.authorize(state="s-5")
    form = parse_form(page.text)

    response = await sandbox.http.post(
        "/login", data={**form.hidden, "username": "", "password": "", "cancel": "cancel"}
    )

    query = _redirect_query(response)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s-5"]
    assert query["error_description"]
    assert "code" not in query
    assert sandbox.hosted_ui.stats.login_cancels == 1
    assert sandbox.hosted_ui.stats.login_attempts == 1


async def test_cancel_of_a_forged_request_goes_nowhere(sandbox: Sandbox) -> None:
    page = await sandbox.authorize(state="s-6")
    forged = {**parse_form(page.text).hidden, "redirect_uri": "http://evil.test/cb"}

    response = await sandbox.http.post("/login", data={**forged, "cancel": "cancel"})

    assert response.status_code == 400
    assert "location" not in response.headers
    assert sandbox.hosted_ui.stats.login_cancels == 0
