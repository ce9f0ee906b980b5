"""The test pool of the Hosted UI stand-in and a scripted browser + OAuth client to drive it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from litestar import Litestar

from connector.sandbox.hosted_ui import HostedUi, SandboxUser
from support.login_form import parse_login_form

POOL_ID = "us-east-1_Sandbox1"
BASE_URL = "http://hosted-ui.test"
ISSUER = f"{BASE_URL}/{POOL_ID}"
CALLBACK = "http://app.test/callback"
WEB_CLIENT, WEB_SECRET = "web-client", "web-secret-value"
SPA_CLIENT = "spa-client"
ALICE = SandboxUser(
    username="alice",
    password="Correct-Horse-1",
    email="alice@example.com",
    sub="0f8fad5b-d9cb-469f-a165-70867728950e",
)


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


@dataclass(frozen=True)
class SignIn:
    """What the callback received, plus what the client kept to finish the exchange."""

    code: str
    state: str
    nonce: str
    pkce: Pkce
    client_id: str
    redirect_uri: str


parse_form = parse_login_form


class Sandbox:
    """One running stand-in and the requests a browser and an OAuth client would make."""

    def __init__(self, hosted_ui: HostedUi, app: Litestar, http: httpx.AsyncClient) -> None:
        self.hosted_ui = hosted_ui
        self.app = app
        self.http = http

    async def authorize(self, **overrides: str | None) -> httpx.Response:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": WEB_CLIENT,
            "redirect_uri": CALLBACK,
            "scope": "openid email profile",
            "state": "state-1",
            "nonce": "nonce-1",
            "code_challenge": Pkce.new().challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        query = {k: v for k, v in params.items() if v is not None}
        return await self.http.get("/oauth2/authorize", params=query)

    async def submit_login(
        self, page: httpx.Response, username: str, password: str
    ) -> httpx.Response:
        form = parse_form(page.text)
        assert form.form.get("method") == "post"
        data = {**form.hidden, "username": username, "password": password}
        return await self.http.post(form.form["action"], data=data)

    async def sign_in(
        self,
        *,
        client_id: str = WEB_CLIENT,
        scope: str = "openid email profile",
        state: str | None = None,
        nonce: str | None = None,
        user: SandboxUser = ALICE,
    ) -> SignIn:
        pkce = Pkce.new()
        state = state or secrets.token_urlsafe(16)
        nonce = nonce or secrets.token_urlsafe(16)
        page = await self.authorize(
            client_id=client_id,
            scope=scope,
            state=state,
            nonce=nonce,
            code_challenge=pkce.challenge,
        )
        assert page.status_code == 200, page.text
        answer = await self.submit_login(page, user.username, user.password)
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
        assert query["state"] == [state]
        return SignIn(query["code"][0], state, nonce, pkce, client_id, CALLBACK)

    async def token(
        self, data: dict[str, str], auth: tuple[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.post(
            "/oauth2/token", data=data, auth=auth or httpx.USE_CLIENT_DEFAULT
        )

    async def exchange(
        self,
        sign_in: SignIn,
        *,
        auth: tuple[str, str] | None = (WEB_CLIENT, WEB_SECRET),
        **extra: str,
    ) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": sign_in.code,
            "redirect_uri": sign_in.redirect_uri,
            "code_verifier": sign_in.pkce.verifier,
            **extra,
        }
        if auth is None:
            data.setdefault("client_id", sign_in.client_id)
        return await self.token(data, auth)

    async def tokens(self, **sign_in_args: Any) -> dict[str, Any]:
        """Sign in as a confidential client and exchange the code: the token response body."""
        response = await self.exchange(await self.sign_in(**sign_in_args))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refresh(
        self, refresh_token: str, auth: tuple[str, str] | None = (WEB_CLIENT, WEB_SECRET)
    ) -> httpx.Response:
        return await self.token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, auth
        )

    async def revoke(
        self, token: str, auth: tuple[str, str] | None = (WEB_CLIENT, WEB_SECRET)
    ) -> httpx.Response:
        return await self.http.post(
            "/oauth2/revoke", data={"token": token}, auth=auth or httpx.USE_CLIENT_DEFAULT
        )

    async def userinfo(self, access_token: str) -> httpx.Response:
        return await self.http.get(
            "/oauth2/userInfo", headers={"Authorization": f"Bearer {access_token}"}
        )

    async def jwks(self) -> dict[str, Any]:
        response = await self.http.get(f"/{POOL_ID}/.well-known/jwks.json")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


SandboxFactory = Callable[..., Awaitable[Sandbox]]
"""`make_sandbox(**config_changes)`: a fresh stand-in with some configuration replaced."""
