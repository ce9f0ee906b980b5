"""POST /oauth2/token: client authentication and the authorization_code grant's refusals."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from support.hosted_ui_harness import CALLBACK, SPA_CLIENT, WEB_CLIENT, WEB_SECRET, Pkce, Sandbox

from connector.sandbox.hosted_ui import ManualClock


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    error: str = response.json()["error"]
    return error


async def test_a_code_is_single_use(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in()
    first = await sandbox.exchange(sign_in)

    second = await sandbox.exchange(sign_in)

    assert first.status_code == 200
    assert _error(second, 400) == "invalid_grant"


async def test_concurrent_exchanges_of_one_code_let_exactly_one_win(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in()

    answers = await asyncio.gather(*(sandbox.exchange(sign_in) for _ in range(5)))

    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400, 400]
    assert sandbox.hosted_ui.stats.tokens_issued == 1


async def test_pkce_verifier_mismatch_is_invalid_grant_and_burns_the_code(
    sandbox: Sandbox,
) -> None:
    sign_in = await sandbox.sign_in()

    wrong = await sandbox.exchange(sign_in, code_verifier=Pkce.new().verifier)
    right_too_late = await sandbox.exchange(sign_in)

    assert _error(wrong, 400) == "invalid_grant"
    assert _error(right_too_late, 400) == "invalid_grant"


async def test_missing_code_verifier_is_invalid_request(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in()
    response = await sandbox.token(
        {"grant_type": "authorization_code", "code": sign_in.code, "redirect_uri": CALLBACK},
        (WEB_CLIENT, WEB_SECRET),
    )
    assert _error(response, 400) == "invalid_request"


async def test_registered_but_different_redirect_uri_is_invalid_grant(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in()

    response = await sandbox.exchange(sign_in, redirect_uri="http://app.test/other")

    assert _error(response, 400) == "invalid_grant"


async def test_unregistered_redirect_uri_is_unauthorized_client_as_cognito_says(
    sandbox: Sandbox,
) -> None:
    sign_in = await sandbox.sign_in()

    response = await sandbox.exchange(sign_in, redirect_uri=CALLBACK + "/")

    assert _error(response, 400) == "unauthorized_client"


async def test_expired_code_is_invalid_grant(sandbox: Sandbox, clock: ManualClock) -> None:
    sign_in = await sandbox.sign_in()
    clock.advance(300)

    response = await sandbox.exchange(sign_in)

    assert _error(response, 400) == "invalid_grant"


async def test_code_just_inside_five_minutes_is_accepted(
    sandbox: Sandbox, clock: ManualClock
) -> None:
    sign_in = await sandbox.sign_in()
    clock.advance(299)

    response = await sandbox.exchange(sign_in)

    assert response.status_code == 200


async def test_code_of_another_client_is_invalid_grant(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in(client_id=WEB_CLIENT)

    response = await sandbox.exchange(sign_in, auth=None, client_id=SPA_CLIENT)

    assert _error(response, 400) == "invalid_grant"


@pytest.mark.parametrize(
    "auth",
    [
        (WEB_CLIENT, "wrong-secret"),
        ("no-such-client", WEB_SECRET),
        (SPA_CLIENT, "a-secret-it-never-had"),
    ],
)
async def test_bad_client_credentials_are_401_invalid_client(
    sandbox: Sandbox, auth: tuple[str, str]
) -> None:
    sign_in = await sandbox.sign_in()

    response = await sandbox.exchange(sign_in, auth=auth)

    assert _error(response, 401) == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_confidential_client_without_its_secret_is_401_invalid_client(
    sandbox: Sandbox,
) -> None:
    sign_in = await sandbox.sign_in()

    response = await sandbox.exchange(sign_in, auth=None)

    assert _error(response, 401) == "invalid_client"


async def test_client_secret_post_is_accepted(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in()

    response = await sandbox.exchange(sign_in, auth=None, client_secret=WEB_SECRET)

    assert response.status_code == 200
    assert "id_token" in response.json()


async def test_two_client_authentication_methods_are_invalid_request(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in()

    response = await sandbox.exchange(sign_in, client_secret=WEB_SECRET)

    assert _error(response, 400) == "invalid_request"


async def test_malformed_basic_header_is_invalid_client(sandbox: Sandbox) -> None:
    response = await sandbox.http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers={"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    )
    assert _error(response, 401) == "invalid_client"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "unauthorized_client"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "authorization_code", "redirect_uri": CALLBACK}, "invalid_request"),
    ],
)
async def test_malformed_token_requests_are_refused(
    sandbox: Sandbox, data: dict[str, str], expected: str
) -> None:
    response = await sandbox.token(data, (WEB_CLIENT, WEB_SECRET))
    assert _error(response, 400) == expected


async def test_token_request_must_be_form_encoded(sandbox: Sandbox) -> None:
    response = await sandbox.http.post(
        "/oauth2/token",
        json={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(WEB_CLIENT, WEB_SECRET),
    )
    assert _error(response, 400) == "invalid_request"


async def test_repeated_parameter_is_invalid_request(sandbox: Sandbox) -> None:
    response = await sandbox.http.post(
        "/oauth2/token",
        content=b"grant_type=refresh_token&refresh_token=a&refresh_token=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(WEB_CLIENT, WEB_SECRET),
    )
    assert _error(response, 400) == "invalid_request"
