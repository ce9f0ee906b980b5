"""The TokenVerifier port on python-jose: Cognito JWTs checked against the user pool's JWKS."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeGuard

import httpx
from jose import jwk, jwt
from jose.exceptions import JOSEError
from jose.utils import calculate_at_hash

from connector.adapters import upstream_metrics
from connector.domain.oauth import AccessClaims, IdentityClaims
from connector.errors import TokenVerificationError, UpstreamUnavailableError
from connector.settings import CognitoSettings

_ALGORITHMS = ["RS256"]
_CONNECT_TIMEOUT = 2.0
_DEFAULT_RETRY_AFTER = 2
JWKS = "cognito-jwks"
# jose checks the signature only: it cannot take our clock, and it skips `aud` when a token
# has none, so every claim is checked below, each failure named.
_SIGNATURE_ONLY = {
    f"verify_{claim}": False for claim in ("aud", "iss", "exp", "nbf", "iat", "sub", "jti")
} | {"verify_at_hash": False}

Claims = Mapping[str, Any]


class CognitoTokenVerifier:
    """Verifies ID and access tokens of one app client (RS256 only) against a cached JWKS.

    The key set is fetched on first use. A token with an unknown `kid` (a key rotation, or a
    forgery) triggers one re-fetch, at most once per `min_refetch_interval` seconds; concurrent
    callers share one fetch. A fetch answers within `timeout` seconds, connect included.
    """

    def __init__(
        self,
        settings: CognitoSettings,
        *,
        http: httpx.AsyncClient | None = None,
        leeway: int = 60,
        clock: Callable[[], float] = time.time,
        min_refetch_interval: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self._settings = settings
        self._http = http
        self._timeout = timeout
        self._leeway = leeway
        self._clock = clock
        self._min_refetch_interval = min_refetch_interval
        self._keys: dict[str, Any] = {}
        self._loaded = False
        self._attempts = 0
        self._attempted_at = 0.0
        self._failure: UpstreamUnavailableError | None = None
        self._lock = asyncio.Lock()

    async def verify_id_token(
        self, token: str, *, nonce: str | None, access_token: str | None = None
    ) -> IdentityClaims:
        """Signature, iss, aud = client id, token_use = id, exp, nonce when given, and `at_hash`
        against `access_token` when both are present."""
        claims = await self._verified(token, "ID token", use="id")
        if "aud" not in claims:
            _fail("ID token audience missing")
        if claims["aud"] not in (self._settings.client_id, [self._settings.client_id]):
            _fail("ID token audience mismatch")
        if nonce is not None:
            if not isinstance(claims.get("nonce"), str):
                _fail("ID token nonce missing")
            if not hmac.compare_digest(claims["nonce"].encode(), nonce.encode()):
                _fail("ID token nonce mismatch")
        if access_token is not None and "at_hash" in claims:
            expected = calculate_at_hash(access_token, hashlib.sha256)
            if not hmac.compare_digest(str(claims["at_hash"]).encode(), expected.encode()):
                _fail("ID token at_hash does not match the access token")
        return IdentityClaims(
            sub=claims["sub"],
            username=_optional_text(claims, "cognito:username"),
            email=_optional_text(claims, "email"),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            # Cognito writes a JSON boolean; a string "true" from an attribute mapping counts too.
            email_verified=claims.get("email_verified") in (True, "true"),
        )

    async def verify_access_token(
        self, token: str, *, client_ids: Collection[str] | None = None
    ) -> AccessClaims:
        """Signature, iss, client_id (ours, or one of `client_ids`), token_use = access, exp
        (Cognito access tokens lack aud)."""
        claims = await self._verified(token, "access token", use="access")
        accepted = (self._settings.client_id,) if client_ids is None else client_ids
        if not isinstance(claims.get("client_id"), str) or claims["client_id"] not in accepted:
            _fail("access token client_id mismatch")
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            _fail("access token scope is malformed")
        return AccessClaims(
            sub=claims["sub"],
            client_id=claims["client_id"],
            scopes=tuple(scope.split()),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    async def _verified(self, token: str, kind: str, *, use: str) -> Claims:
        """The claims once the signature, iss, token_use, sub and the time claims hold."""
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            _fail(f"{kind} is malformed")
        # Checked before any key is looked up: `none`, HS256 (a public key used as an HMAC
        # secret) and every other algorithm are refused outright.
        if header.get("alg") not in _ALGORITHMS:
            _fail(f"{kind} algorithm is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            _fail(f"{kind} has no key id")
        key = await self._key(kid, kind)
        try:
            claims: Any = jwt.decode(token, key, algorithms=_ALGORITHMS, options=_SIGNATURE_ONLY)
        except JOSEError:
            _fail(f"{kind} signature verification failed")
        if claims.get("iss") != self._settings.issuer:
            _fail(f"{kind} issuer mismatch")
        if claims.get("token_use") != use:
            _fail(f"{kind} token_use is not {use!r}")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            _fail(f"{kind} has no subject")
        self._check_times(claims, kind)
        return dict(claims)

    def _check_times(self, claims: Claims, kind: str) -> None:
        now = self._clock()
        exp = claims.get("exp")
        if not _is_number(exp):
            _fail(f"{kind} has no valid expiry")
        if now - self._leeway > exp:
            _fail(f"{kind} has expired")
        for claim in ("iat", "nbf"):
            value = claims.get(claim)
            if value is not None and (not _is_number(value) or value > now + self._leeway):
                _fail(f"{kind} {claim} is in the future or malformed")

    async def _key(self, kid: str, kind: str) -> Any:
        key = self._keys.get(kid)
        if key is None and (not self._loaded or self._may_refetch()):
            await self._fetch_shared()
            key = self._keys.get(kid)
        if key is None:
            _fail(f"{kind} is signed by an unknown key")
        return key

    def _may_refetch(self) -> bool:
        return self._clock() - self._attempted_at >= self._min_refetch_interval

    async def _fetch_shared(self) -> None:
        """Fetch the JWKS, or share the outcome of a fetch that finished while we waited."""
        attempt = self._attempts
        async with self._lock:
            if self._attempts == attempt:  # no fetch finished while we waited: ours to do
                self._attempted_at = self._clock()
                try:
                    self._keys = await self._download()
                    self._loaded, self._failure = True, None
                except UpstreamUnavailableError as exc:
                    self._failure = exc  # the keys we had stay in use
                # Counted only once finished: a cancelled fetch leaves the next waiter to fetch.
                self._attempts += 1
            failure = self._failure
        if failure is not None:
            raise UpstreamUnavailableError(failure.message, retry_after=failure.retry_after)

    async def _download(self) -> dict[str, Any]:
        url = self._settings.jwks_url
        try:
            # httpx's timeouts are per phase (connect, each read); this one bounds the whole.
            async with asyncio.timeout(self._timeout):
                if self._http is not None:
                    response = await self._http.get(url)
                else:
                    connect = min(_CONNECT_TIMEOUT, self._timeout)
                    per_phase = httpx.Timeout(self._timeout, connect=connect)
                    async with httpx.AsyncClient(timeout=per_phase) as http:
                        response = await http.get(url)
        except (httpx.TransportError, TimeoutError) as exc:
            upstream_metrics.count(JWKS, type(exc).__name__)
            raise UpstreamUnavailableError(
                "Cognito JWKS is unreachable", retry_after=_DEFAULT_RETRY_AFTER
            ) from exc
        ok = response.status_code == 200
        upstream_metrics.count(JWKS, upstream_metrics.OK if ok else str(response.status_code))
        if not ok:
            raise UpstreamUnavailableError(
                f"Cognito JWKS answered HTTP {response.status_code}",
                retry_after=_retry_after(response),
            )
        try:
            entries = response.json()["keys"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamUnavailableError("Cognito JWKS answer is malformed") from exc
        return _rsa_signing_keys(entries if isinstance(entries, list) else [])


def _rsa_signing_keys(entries: list[Any]) -> dict[str, Any]:
    """The RS256 signing keys by kid; a malformed entry must not hide the others."""
    keys: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        if entry.get("alg", "RS256") != "RS256":
            continue
        try:
            keys[entry["kid"]] = jwk.construct(entry, "RS256")
        except (JOSEError, ValueError, TypeError):
            continue
    return keys


def _retry_after(response: httpx.Response) -> int:
    value = response.headers.get("Retry-After", "").strip()
    return int(value) if value.isascii() and value.isdigit() else _DEFAULT_RETRY_AFTER


def _fail(check: str) -> NoReturn:
    raise TokenVerificationError(check)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_text(claims: Claims, name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None
