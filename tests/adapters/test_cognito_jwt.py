"""CognitoTokenVerifier: RS256 tokens signed in the test, a JWKS served through MockTransport."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from connector.adapters.cognito_jwt import CognitoTokenVerifier
from connector.errors import TokenVerificationError, UpstreamUnavailableError
from connector.settings import CognitoSettings

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool"
CLIENT_ID = "client-123"
NOW = 1_800_000_000.0
SETTINGS = CognitoSettings(
    base_url="https://auth.example.test",
    client_id=CLIENT_ID,
    client_secret=None,
    region="us-east-1",
    user_pool_id="us-east-1_Pool",
    identity_pool_id=None,
    issuer=ISSUER,
)


@dataclass(frozen=True)
class Key:
    kid: str
    private_pem: bytes
    public_pem: bytes

    @classmethod
    def generate(cls, kid: str) -> Key:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(
            kid,
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    @property
    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = jwk.construct(self.public_pem, "RS256").to_dict()
        return {**public, "kid": self.kid, "use": "sig"}

    def sign(self, claims: dict[str, Any], **kwargs: Any) -> str:
        headers = {"kid": self.kid}
        return str(jwt.encode(claims, self.private_pem, "RS256", headers=headers, **kwargs))


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    """RSA generation is slow: one set per module. `foreign` shares the pool key's kid."""
    return {
        "pool": Key.generate("kid-pool"),
        "rotated": Key.generate("kid-rotated"),
        "foreign": Key.generate("kid-pool"),
    }


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Jwks:
    """The pool's /.well-known/jwks.json: counts fetches; can be changed or taken down."""

    def __init__(self, *keys: Key) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down: httpx.Response | Exception | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"{ISSUER}/.well-known/jwks.json"
        self.fetches += 1
        await asyncio.sleep(0)  # let concurrent callers pile up behind the fetch
        if isinstance(self.down, Exception):
            raise self.down
        if self.down is not None:
            return self.down
        return httpx.Response(200, json={"keys": [key.jwk for key in self.keys]})


@dataclass
class Env:
    verifier: CognitoTokenVerifier
    jwks: Jwks
    clock: Clock
    keys: dict[str, Key]


@pytest.fixture
async def env(keys: dict[str, Key]) -> AsyncIterator[Env]:
    jwks, clock = Jwks(keys["pool"]), Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(jwks)) as http:
        verifier = CognitoTokenVerifier(SETTINGS, http=http, clock=clock, min_refetch_interval=30)
        yield Env(verifier, jwks, clock, keys)


def id_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "sub": "user-sub-1",
        "aud": CLIENT_ID,
        "iss": ISSUER,
        "token_use": "id",
        "cognito:username": "alice",
        "email": "alice@example.com",
        "nonce": "nonce-1",
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def access_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "sub": "user-sub-1",
        "client_id": CLIENT_ID,
        "iss": ISSUER,
        "token_use": "access",
        "scope": "openid email profile",
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A JWT built by hand: the attacks jose would refuse to create for us."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b"" if secret is None else hmac.digest(secret, signing_input.encode(), "sha256")
    return f"{signing_input}.{b64(signature)}"


async def refused(verify: Callable[[], Any], token: str, check: str) -> None:
    with pytest.raises(TokenVerificationError) as caught:
        await verify()
    assert check in caught.value.message
    assert token not in str(caught.value)


async def test_a_good_id_token_passes_and_yields_its_claims(env: Env) -> None:
    token = env.keys["pool"].sign(id_claims())

    claims = await env.verifier.verify_id_token(token, nonce="nonce-1")

    assert claims.sub == "user-sub-1"
    assert (claims.username, claims.email) == ("alice", "alice@example.com")
    assert claims.expires_at == datetime.fromtimestamp(NOW + 3600, UTC)


async def test_an_id_token_without_nonce_passes_when_none_is_expected(env: Env) -> None:
    token = env.keys["pool"].sign(id_claims(nonce=None))

    assert (await env.verifier.verify_id_token(token, nonce=None)).sub == "user-sub-1"


@pytest.mark.parametrize(
    ("changes", "nonce", "check"),
    [
        ({"aud": "another-client"}, "nonce-1", "ID token audience mismatch"),
        ({"aud": None}, "nonce-1", "ID token audience missing"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"}, "nonce-1", "issuer"),
        ({"token_use": "access"}, "nonce-1", "token_use"),
        ({"nonce": "nonce-2"}, "nonce-1", "ID token nonce mismatch"),
        ({"nonce": None}, "nonce-1", "ID token nonce missing"),
        ({"sub": None}, "nonce-1", "subject"),
        ({"exp": None}, "nonce-1", "expiry"),
        ({"iat": int(NOW) + 3600}, "nonce-1", "iat"),
    ],
    ids=[
        "wrong-aud",
        "missing-aud",
        "wrong-iss",
        "wrong-token-use",
        "wrong-nonce",
        "missing-nonce",
        "missing-sub",
        "missing-exp",
        "future-iat",
    ],
)
async def test_an_id_token_failing_a_check_is_refused_naming_it(
    env: Env, changes: dict[str, Any], nonce: str, check: str
) -> None:
    token = env.keys["pool"].sign(id_claims(**changes))

    await refused(lambda: env.verifier.verify_id_token(token, nonce=nonce), token, check)


async def test_expiry_is_judged_by_the_injected_clock_with_leeway(env: Env) -> None:
    token = env.keys["pool"].sign(id_claims(exp=int(NOW) + 100))

    env.clock.now = NOW + 100 + 59
    assert (await env.verifier.verify_id_token(token, nonce=None)).sub == "user-sub-1"
    env.clock.now = NOW + 100 + 61
    await refused(lambda: env.verifier.verify_id_token(token, nonce=None), token, "expired")


async def test_at_hash_is_checked_against_the_access_token(env: Env) -> None:
    token = env.keys["pool"].sign(id_claims(), access_token="the-access-token")

    claims = await env.verifier.verify_id_token(
        token, nonce="nonce-1", access_token="the-access-token"
    )
    assert claims.sub == "user-sub-1"
    await refused(
        lambda: env.verifier.verify_id_token(token, nonce="nonce-1", access_token="another"),
        token,
        "at_hash",
    )


async def test_a_token_signed_by_a_foreign_key_with_the_same_kid_is_refused(env: Env) -> None:
    token = env.keys["foreign"].sign(id_claims())

    await refused(lambda: env.verifier.verify_id_token(token, nonce="nonce-1"), token, "signature")


async def test_alg_none_is_refused(env: Env) -> None:
    token = hand_made({"alg": "none", "kid": "kid-pool"}, id_claims(), secret=None)

    await refused(lambda: env.verifier.verify_id_token(token, nonce="nonce-1"), token, "RS256")


@pytest.mark.parametrize("form", ["pem", "jwk-json"])
async def test_hs256_signed_with_the_public_key_as_secret_is_refused(env: Env, form: str) -> None:
    key = env.keys["pool"]
    secret = key.public_pem if form == "pem" else json.dumps(key.jwk).encode()
    token = hand_made({"alg": "HS256", "kid": key.kid}, id_claims(), secret=secret)

    await refused(lambda: env.verifier.verify_id_token(token, nonce="nonce-1"), token, "RS256")


async def test_a_malformed_token_is_refused(env: Env) -> None:
    await refused(lambda: env.verifier.verify_id_token("abc.def", nonce=None), "abc.def", "")


async def test_an_unknown_kid_refetches_once_and_accepts_the_rotated_key(env: Env) -> None:
    await env.verifier.verify_id_token(env.keys["pool"].sign(id_claims()), nonce="nonce-1")
    env.jwks.keys = [env.keys["pool"], env.keys["rotated"]]
    env.clock.now += 60
    rotated = env.keys["rotated"].sign(id_claims(exp=int(NOW) + 7200))

    first = await env.verifier.verify_id_token(rotated, nonce="nonce-1")
    again = await env.verifier.verify_id_token(rotated, nonce="nonce-1")

    assert first == again
    assert env.jwks.fetches == 2


async def test_concurrent_first_callers_share_one_jwks_fetch(env: Env) -> None:
    token = env.keys["pool"].sign(id_claims())

    results = await asyncio.gather(
        *(env.verifier.verify_id_token(token, nonce="nonce-1") for _ in range(20))
    )

    assert {claims.sub for claims in results} == {"user-sub-1"}
    assert env.jwks.fetches == 1


async def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(env: Env) -> None:
    await env.verifier.verify_id_token(env.keys["pool"].sign(id_claims()), nonce="nonce-1")
    env.clock.now += 31
    forged = [
        hand_made({"alg": "RS256", "kid": f"forged-{n}"}, id_claims(), secret=b"x")
        for n in range(20)
    ]

    outcomes = await asyncio.gather(
        *(env.verifier.verify_id_token(token, nonce="nonce-1") for token in forged),
        return_exceptions=True,
    )

    assert all(isinstance(o, TokenVerificationError) for o in outcomes)
    assert all("unknown key" in str(o) for o in outcomes)
    assert env.jwks.fetches == 2
    env.clock.now += 29
    with pytest.raises(TokenVerificationError):
        await env.verifier.verify_id_token(forged[0], nonce="nonce-1")
    assert env.jwks.fetches == 2


@pytest.mark.parametrize(
    "outage",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(503, headers={"Retry-After": "7"}),
        httpx.Response(200, text="<html>"),
    ],
    ids=["connect-error", "timeout", "503", "not-json"],
)
async def test_an_unreachable_jwks_is_upstream_unavailable_then_recovers(
    env: Env, outage: httpx.Response | Exception
) -> None:
    token = env.keys["pool"].sign(id_claims())
    env.jwks.down = outage

    with pytest.raises(UpstreamUnavailableError):
        await env.verifier.verify_id_token(token, nonce="nonce-1")

    env.jwks.down = None
    assert (await env.verifier.verify_id_token(token, nonce="nonce-1")).sub == "user-sub-1"


async def test_jwks_503_passes_on_its_retry_after(env: Env) -> None:
    env.jwks.down = httpx.Response(503, headers={"Retry-After": "7"})

    with pytest.raises(UpstreamUnavailableError) as caught:
        await env.verifier.verify_access_token(env.keys["pool"].sign(access_claims()))

    assert caught.value.retry_after == 7


async def test_a_good_access_token_passes_and_yields_its_claims(env: Env) -> None:
    claims = await env.verifier.verify_access_token(env.keys["pool"].sign(access_claims()))

    assert (claims.sub, claims.client_id) == ("user-sub-1", CLIENT_ID)
    assert claims.scopes == ("openid", "email", "profile")
    assert claims.expires_at == datetime.fromtimestamp(NOW + 3600, UTC)


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        (access_claims(client_id="another-client"), "client_id mismatch"),
        (id_claims(), "token_use"),
        (access_claims(iss="https://evil.example"), "issuer"),
        (access_claims(exp=int(NOW) - 61), "expired"),
    ],
    ids=["wrong-client-id", "id-token", "wrong-iss", "expired"],
)
async def test_an_access_token_failing_a_check_is_refused(
    env: Env, claims: dict[str, Any], check: str
) -> None:
    token = env.keys["pool"].sign(claims)

    await refused(lambda: env.verifier.verify_access_token(token), token, check)


async def test_an_access_token_of_a_listed_agent_client_passes_only_when_listed(env: Env) -> None:
    """MCP user mode lists its agent clients: their tokens pass, the connector's own do not."""
    agent = env.keys["pool"].sign(access_claims(client_id="agent-client"))
    own = env.keys["pool"].sign(access_claims())

    claims = await env.verifier.verify_access_token(agent, client_ids={"agent-client"})

    assert claims.client_id == "agent-client"
    await refused(
        lambda: env.verifier.verify_access_token(own, client_ids={"agent-client"}),
        own,
        "client_id mismatch",
    )
    await refused(lambda: env.verifier.verify_access_token(agent), agent, "client_id mismatch")


async def test_an_expired_agent_token_is_refused_as_expired(env: Env) -> None:
    token = env.keys["pool"].sign(access_claims(client_id="agent-client", exp=int(NOW) - 61))

    await refused(
        lambda: env.verifier.verify_access_token(token, client_ids={"agent-client"}),
        token,
        "expired",
    )
