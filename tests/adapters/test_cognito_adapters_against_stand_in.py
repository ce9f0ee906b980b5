"""Both Cognito adapters drive a real code + PKCE flow against the Hosted UI stand-in."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support.login_form import parse_login_form

from connector.adapters.cognito_jwt import CognitoTokenVerifier
from connector.adapters.cognito_oauth import CognitoOAuthClient
from connector.errors import InvalidGrantError, TokenVerificationError, UpstreamUnavailableError
from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    KeySet,
    ManualClock,
    SandboxUser,
    create_hosted_ui_app,
)
from connector.settings import CognitoSettings

BASE_URL = "http://hosted-ui.test"
POOL_ID = "us-east-1_Interop1"
CALLBACK = "https://connector.test/callback"
WEB_CLIENT, WEB_SECRET, SPA_CLIENT = "web-client", "web-secret-value", "spa-client"
ALICE = SandboxUser(username="alice", password="Correct-Horse-1", email="alice@example.com")


@pytest.fixture(scope="module")
def pool_keys() -> KeySet:
    return KeySet.generate()  # RSA generation is slow: one set for the module


@dataclass
class Stand:
    hosted_ui: HostedUi
    browser: httpx.AsyncClient
    provider: CognitoOAuthClient
    verifier: CognitoTokenVerifier

    async def sign_in(self, *, state: str, nonce: str, challenge: str) -> str:
        """What the user's browser does at the Hosted UI; returns the code from the callback."""
        url = self.provider.authorization_url(state=state, nonce=nonce, code_challenge=challenge)
        page = await self.browser.get(url)
        assert page.status_code == 200, page.text
        form = parse_login_form(page.text)
        answer = await self.browser.post(
            form.action,
            data={**form.hidden, "username": ALICE.username, "password": ALICE.password},
        )
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
        assert query["state"] == [state]
        return query["code"][0]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def open_stand(pool_keys: KeySet, *, client_id: str, **config: object) -> Stand:
    clock = ManualClock(1_800_000_000.0)
    hosted_ui = HostedUi(
        HostedUiConfig(
            user_pool_id=POOL_ID,
            issuer_base_url=BASE_URL,
            clients=(
                AppClient(WEB_CLIENT, callback_urls=(CALLBACK,), client_secret=WEB_SECRET),
                AppClient(SPA_CLIENT, callback_urls=(CALLBACK,)),
            ),
            users=(ALICE,),
            clock=clock,
            **config,  # type: ignore[arg-type]
        ),
        keys=pool_keys,
    )
    transport = httpx.ASGITransport(app=create_hosted_ui_app(hosted_ui))  # type: ignore[arg-type]
    settings = CognitoSettings(
        base_url=BASE_URL,
        client_id=client_id,
        client_secret=WEB_SECRET if client_id == WEB_CLIENT else None,
        region="us-east-1",
        user_pool_id=POOL_ID,
        identity_pool_id=None,
        issuer=hosted_ui.config.issuer,
    )
    browser = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
    return Stand(
        hosted_ui,
        browser,
        CognitoOAuthClient(settings, redirect_uri=CALLBACK, transport=transport),
        CognitoTokenVerifier(settings, http=browser, clock=clock),
    )


@pytest.fixture(params=[WEB_CLIENT, SPA_CLIENT], ids=["confidential", "public"])
async def stand(request: pytest.FixtureRequest, pool_keys: KeySet) -> AsyncIterator[Stand]:
    opened = await open_stand(pool_keys, client_id=request.param)
    yield opened
    await opened.provider.close()
    await opened.browser.aclose()


async def test_code_pkce_flow_yields_tokens_the_verifier_accepts_then_refresh_and_revoke(
    stand: Stand,
) -> None:
    verifier, challenge = pkce()
    code = await stand.sign_in(state="state-1", nonce="nonce-1", challenge=challenge)

    grant = await stand.provider.exchange_code(code, code_verifier=verifier)
    assert grant.id_token is not None
    identity = await stand.verifier.verify_id_token(
        grant.id_token, nonce="nonce-1", access_token=grant.access_token
    )
    access = await stand.verifier.verify_access_token(grant.access_token)

    refreshed = await stand.provider.refresh(grant.refresh_token or "")
    assert refreshed.id_token is not None
    renewed = await stand.verifier.verify_id_token(
        refreshed.id_token, nonce=None, access_token=refreshed.access_token
    )
    revoked = await stand.provider.revoke(grant.refresh_token or "")

    assert (identity.sub, identity.username, identity.email) == (
        ALICE.sub,
        "alice",
        "alice@example.com",
    )
    assert access.sub == ALICE.sub
    assert access.scopes == ("openid", "email", "profile")
    assert refreshed.refresh_token is None  # the stand-in does not rotate by default
    assert renewed.sub == ALICE.sub
    assert revoked is True
    with pytest.raises(InvalidGrantError):
        await stand.provider.refresh(grant.refresh_token or "")
    assert stand.hosted_ui.stats.pkce_methods == {"S256": 1}


async def test_a_wrong_pkce_verifier_or_nonce_is_refused(stand: Stand) -> None:
    verifier, challenge = pkce()
    code = await stand.sign_in(state="s", nonce="nonce-1", challenge=challenge)
    with pytest.raises(InvalidGrantError):
        await stand.provider.exchange_code(code, code_verifier=pkce()[0])

    code = await stand.sign_in(state="s", nonce="nonce-1", challenge=challenge)
    grant = await stand.provider.exchange_code(code, code_verifier=verifier)
    with pytest.raises(TokenVerificationError, match="nonce mismatch"):
        await stand.verifier.verify_id_token(grant.id_token or "", nonce="nonce-2")


async def test_a_rotating_pool_hands_back_the_new_refresh_token(pool_keys: KeySet) -> None:
    stand = await open_stand(pool_keys, client_id=WEB_CLIENT, rotate_refresh_tokens=True)
    try:
        verifier, challenge = pkce()
        code = await stand.sign_in(state="s", nonce="n", challenge=challenge)
        grant = await stand.provider.exchange_code(code, code_verifier=verifier)

        rotated = await stand.provider.refresh(grant.refresh_token or "")

        assert rotated.refresh_token not in (None, grant.refresh_token)
    finally:
        await stand.provider.close()
        await stand.browser.aclose()


async def test_an_injected_token_endpoint_outage_is_upstream_unavailable(stand: Stand) -> None:
    verifier, challenge = pkce()
    code = await stand.sign_in(state="s", nonce="n", challenge=challenge)
    stand.hosted_ui.fail_next_token_requests(status=503)

    with pytest.raises(UpstreamUnavailableError):
        await stand.provider.exchange_code(code, code_verifier=verifier)
