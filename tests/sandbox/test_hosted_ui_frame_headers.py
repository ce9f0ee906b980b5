"""The stand-in's pages may not be framed by any site, as Cognito's Hosted UI."""

from __future__ import annotations

import httpx
from support.hosted_ui_harness import ALICE, Sandbox


def assert_unframeable(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in directives
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_sign_in_page_the_failed_sign_in_and_the_error_page_cannot_be_framed(
    sandbox: Sandbox,
) -> None:
    form = await sandbox.authorize()
    assert form.status_code == 200
    assert_unframeable(form)
    refused = await sandbox.submit_login(form, ALICE.username, "wrong password")
    assert refused.status_code == 200
    assert "Incorrect username or password." in refused.text
    assert_unframeable(refused)
    error = await sandbox.authorize(client_id="no-such-client")
    assert error.status_code == 400
    assert_unframeable(error)
