"""CognitoOAuthClient against a scripted Cognito behind httpx.MockTransport: wire and errors."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connector.adapters.cognito_oauth import CognitoOAuthClient
from connector.domain.oauth import TokenGrant
from connector.errors import (
    ConnectorError,
    InvalidGrantError,
    OAuthProtocolError,
    UpstreamUnavailableError,
)
from connector.settings import CognitoSettings

BASE = "https://auth.example.test"
CALLBACK = "https://connector.example.test/callback"
CLIENT_ID, SECRET = "client-123", "client-secret-value"
CODE, VERIFIER = "auth-code-0123456789", "pkce-verifier-" + "v" * 40
REFRESH = "refresh-token-abcdefghijklmnop"
SECRETS = (CODE, VERIFIER, REFRESH, SECRET)
TOKENS = {
    "access_token": "access-jwt",
    "id_token": "id-jwt",
    "refresh_token": "refresh-jwt",
    "expires_in": 3600,
    "token_type": "Bearer",
}

Answer = httpx.Response | Exception


def cognito_settings(secret: str | None = SECRET) -> CognitoSettings:
    return CognitoSettings(
        base_url=BASE,
        client_id=CLIENT_ID,
        client_secret=secret,
        region="us-east-1",
        user_pool_id="us-east-1_Pool",
        identity_pool_id=None,
        issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool",
    )


class ScriptedCognito:
    """Records every request and answers with the scripted response (or raises the error)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.requests[-1].content.decode(), keep_blank_values=True)

    @property
    def headers(self) -> httpx.Headers:
        return self.requests[-1].headers


def oauth_error(status: int, error: str, description: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": description})


Factory = Callable[..., tuple[CognitoOAuthClient, ScriptedCognito]]


@pytest.fixture
async def make_client() -> AsyncIterator[Factory]:
    clients: list[CognitoOAuthClient] = []

    def make(
        answer: Answer | None = None,
        *,
        secret: str | None = SECRET,
        timeout: float = 5.0,
        handler: Any = None,
    ) -> tuple[CognitoOAuthClient, ScriptedCognito]:
        cognito = ScriptedCognito(answer or httpx.Response(200, json=TOKENS))
        client = CognitoOAuthClient(
            cognito_settings(secret),
            redirect_uri=CALLBACK,
            timeout=timeout,
            transport=httpx.MockTransport(handler or cognito),
        )
        clients.append(client)
        return client, cognito

    yield make
    for client in clients:
        await client.close()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_authorization_url_carries_pkce_s256_state_nonce_scopes_and_redirect(
    make_client: Factory,
) -> None:
    client, _ = make_client()

    url = urlsplit(client.authorization_url(state="st-1", nonce="no-1", code_challenge="ch-1"))

    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{BASE}/oauth2/authorize"
    assert parse_qs(url.query) == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [CALLBACK],
        "scope": ["openid email profile"],
        "state": ["st-1"],
        "nonce": ["no-1"],
        "code_challenge": ["ch-1"],
        "code_challenge_method": ["S256"],
    }


async def test_code_exchange_of_a_confidential_client_sends_basic_auth_and_exact_form(
    make_client: Factory,
) -> None:
    client, cognito = make_client()

    grant = await client.exchange_code(CODE, code_verifier=VERIFIER)

    request = cognito.requests[0]
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/oauth2/token")
    assert request.headers["Authorization"] == basic(CLIENT_ID, SECRET)
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert cognito.form == {
        "grant_type": ["authorization_code"],
        "code": [CODE],
        "redirect_uri": [CALLBACK],
        "code_verifier": [VERIFIER],
    }
    assert grant == TokenGrant(
        access_token="access-jwt", id_token="id-jwt", refresh_token="refresh-jwt", expires_in=3600
    )


async def test_code_exchange_of_a_public_client_sends_client_id_in_the_body_and_no_auth(
    make_client: Factory,
) -> None:
    client, cognito = make_client(secret=None)

    await client.exchange_code(CODE, code_verifier=VERIFIER)

    assert "Authorization" not in cognito.headers
    assert cognito.form == {
        "grant_type": ["authorization_code"],
        "code": [CODE],
        "redirect_uri": [CALLBACK],
        "code_verifier": [VERIFIER],
        "client_id": [CLIENT_ID],
    }


async def test_refresh_sends_the_refresh_grant_without_scope(make_client: Factory) -> None:
    client, cognito = make_client()

    await client.refresh(REFRESH)

    assert str(cognito.requests[0].url) == f"{BASE}/oauth2/token"
    assert cognito.headers["Authorization"] == basic(CLIENT_ID, SECRET)
    assert cognito.form == {"grant_type": ["refresh_token"], "refresh_token": [REFRESH]}


async def test_refresh_without_rotation_returns_no_refresh_token_and_no_id_token_if_omitted(
    make_client: Factory,
) -> None:
    answer = httpx.Response(
        200, json={"access_token": "a2", "expires_in": 60, "token_type": "Bearer"}
    )
    client, _ = make_client(answer)

    grant = await client.refresh(REFRESH)

    assert (grant.access_token, grant.id_token, grant.refresh_token) == ("a2", None, None)
    assert grant.expires_in == 60


async def test_refresh_with_rotation_returns_the_new_refresh_token(make_client: Factory) -> None:
    client, _ = make_client(httpx.Response(200, json={**TOKENS, "refresh_token": "rotated"}))

    assert (await client.refresh(REFRESH)).refresh_token == "rotated"


@pytest.mark.parametrize("secret", [SECRET, None])
async def test_revoke_posts_the_token_with_the_token_endpoint_client_auth(
    make_client: Factory, secret: str | None
) -> None:
    client, cognito = make_client(httpx.Response(200), secret=secret)

    assert await client.revoke(REFRESH) is True

    assert str(cognito.requests[0].url) == f"{BASE}/oauth2/revoke"
    if secret is None:
        assert "Authorization" not in cognito.headers
        assert cognito.form == {"token": [REFRESH], "client_id": [CLIENT_ID]}
    else:
        assert cognito.headers["Authorization"] == basic(CLIENT_ID, SECRET)
        assert cognito.form == {"token": [REFRESH]}


async def test_revoke_refused_with_an_oauth_error_is_false(make_client: Factory) -> None:
    client, _ = make_client(oauth_error(400, "unsupported_token_type"))

    assert await client.revoke(REFRESH) is False


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(503, headers={"Retry-After": "7"}), httpx.ConnectError("refused")],
    ids=["503", "connect-error"],
)
async def test_revoke_while_cognito_is_down_is_upstream_unavailable(
    make_client: Factory, answer: Answer
) -> None:
    client, _ = make_client(answer)

    with pytest.raises(UpstreamUnavailableError):
        await client.revoke(REFRESH)


def _exchange(client: CognitoOAuthClient) -> Awaitable[TokenGrant]:
    return client.exchange_code(CODE, code_verifier=VERIFIER)


def _refresh(client: CognitoOAuthClient) -> Awaitable[TokenGrant]:
    return client.refresh(REFRESH)


GRANTS = pytest.mark.parametrize("call", [_exchange, _refresh], ids=["exchange", "refresh"])


@GRANTS
async def test_invalid_grant_is_invalid_grant_error(make_client: Factory, call: Any) -> None:
    client, _ = make_client(oauth_error(400, "invalid_grant", "Invalid code"))

    with pytest.raises(InvalidGrantError):
        await call(client)


@GRANTS
async def test_other_oauth_errors_are_protocol_errors_with_the_upstream_code(
    make_client: Factory, call: Any
) -> None:
    client, _ = make_client(oauth_error(401, "invalid_client", "Client bad"))

    with pytest.raises(OAuthProtocolError) as caught:
        await call(client)

    assert caught.value.oauth_error == "invalid_client"
    assert caught.value.details["upstreamCode"] == "invalid_client"
    assert not isinstance(caught.value, InvalidGrantError)


@GRANTS
@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [
        (httpx.Response(503, headers={"Retry-After": "7"}, text="busy"), 7),
        (httpx.Response(429, json={"message": "Rate exceeded"}), 2),
        (httpx.Response(500, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}), 2),
        (httpx.ConnectError("connection refused"), 2),
        (httpx.ReadTimeout("read timed out"), 2),
    ],
    ids=["503-retry-after", "429", "500-date-retry-after", "connect-error", "timeout"],
)
async def test_outages_are_upstream_unavailable_with_retry_after(
    make_client: Factory, call: Any, answer: Answer, retry_after: int
) -> None:
    client, _ = make_client(answer)

    with pytest.raises(UpstreamUnavailableError) as caught:
        await call(client)

    assert caught.value.retry_after == retry_after
    assert caught.value.details["retryAfter"] == retry_after


async def test_a_request_that_never_answers_is_cut_at_the_whole_request_timeout(
    make_client: Factory,
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    client, _ = make_client(timeout=0.05, handler=hang)

    with pytest.raises(UpstreamUnavailableError):
        await client.exchange_code(CODE, code_verifier=VERIFIER)


@GRANTS
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(200, json={"id_token": "only", "expires_in": 60}),
        httpx.Response(200, json={**TOKENS, "expires_in": "soon"}),
        httpx.Response(200, json={**TOKENS, "token_type": "MAC"}),
        httpx.Response(403, text="<html>WAF says no</html>"),
    ],
    ids=["html", "list", "no-access-token", "bad-expires-in", "not-bearer", "403-html"],
)
async def test_malformed_answers_are_invalid_response_protocol_errors(
    make_client: Factory, call: Any, answer: Answer
) -> None:
    client, _ = make_client(answer)

    with pytest.raises(OAuthProtocolError) as caught:
        await call(client)

    assert caught.value.oauth_error == "invalid_response"


@pytest.mark.parametrize(
    "answer",
    [
        oauth_error(400, "invalid_grant", f"code {CODE} is used"),
        oauth_error(400, "invalid_request", f"bad verifier {VERIFIER} for {CODE} / {REFRESH}"),
        oauth_error(401, "invalid_client", f"secret {SECRET} is wrong"),
        httpx.Response(503, text=f"{CODE} {REFRESH}"),
        httpx.Response(200, text=f"{CODE} {REFRESH}"),
        httpx.ConnectError(f"refused {CODE}"),
    ],
)
@pytest.mark.parametrize("call", [_exchange, _refresh], ids=["exchange", "refresh"])
async def test_no_error_message_carries_a_code_verifier_refresh_token_or_secret(
    make_client: Factory, call: Any, answer: Answer
) -> None:
    client, _ = make_client(answer)

    with pytest.raises(ConnectorError) as caught:
        await call(client)

    shown = json.dumps([str(caught.value), caught.value.message, caught.value.details])
    for secret in SECRETS:
        assert secret not in shown
