"""The IdentityProvider port on authlib's AsyncOAuth2Client: Cognito's Hosted UI endpoints."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from connector.adapters import upstream_metrics
from connector.domain.oauth import TokenGrant
from connector.domain.ports import UpstreamBudget
from connector.errors import (
    ConnectorError,
    InvalidGrantError,
    OAuthProtocolError,
    UpstreamUnavailableError,
)
from connector.settings import CognitoSettings

with warnings.catch_warnings():
    # authlib prefers httpx2 and says so once, at import; we pin httpx on purpose. authlib puts
    # an "always" filter for its own warnings in front on import, so ours must come after it.
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message=".*httpx2.*", category=DeprecationWarning)
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger(__name__)

_DEFAULT_RETRY_AFTER = 2
COGNITO = "cognito-oauth"
_MAX_RETRY_AFTER = 3600
_CONNECT_TIMEOUT = 2.0
_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=10, keepalive_expiry=30.0)
# Upstream error codes are echoed to callers (details.upstreamCode): only plain RFC 6749 shapes.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _retry_after(response: httpx.Response) -> int:
    """A numeric Retry-After header in whole seconds (capped), else the default of 2."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return min(int(value), _MAX_RETRY_AFTER)
    return _DEFAULT_RETRY_AFTER


def _refuse_outage(response: httpx.Response) -> httpx.Response:
    """A 5xx or 429 is an outage whatever its body says; runs before authlib parses the body."""
    if response.status_code == 429 or response.status_code >= 500:
        raise UpstreamUnavailableError("Cognito is unreachable", retry_after=_retry_after(response))
    return response


class CognitoOAuthClient:
    """Cognito's /oauth2/authorize, /token and /revoke for one app client, PKCE S256 always.

    One long-lived client serves every user: nothing user-specific is kept on it. Token and
    revoke requests go through the token endpoint's `budget`, shared by the replicas.
    """

    def __init__(
        self,
        settings: CognitoSettings,
        *,
        redirect_uri: str,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: UpstreamBudget | None = None,
    ) -> None:
        self._budget = budget
        base = settings.base_url.rstrip("/")
        self._authorize_url = f"{base}/oauth2/authorize"
        self._token_url = f"{base}/oauth2/token"
        self._revoke_url = f"{base}/oauth2/revoke"
        self._scope = " ".join(settings.scopes)
        self._timeout = timeout
        # A public client authenticates with client_id in the body; PKCE binds the code.
        auth_method = "client_secret_basic" if settings.client_secret else "none"
        # No `scope=` here: authlib would add it to every refresh request.
        self._client: Any = AsyncOAuth2Client(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            token_endpoint_auth_method=auth_method,
            revocation_endpoint_auth_method=auth_method,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=httpx.Timeout(timeout, connect=min(_CONNECT_TIMEOUT, timeout)),
            limits=_LIMITS,
            transport=transport,
        )
        for hook in ("access_token_response", "refresh_token_response"):
            self._client.register_compliance_hook(hook, _refuse_outage)

    def authorization_url(
        self, *, state: str, nonce: str, code_challenge: str, login_hint: str | None = None
    ) -> str:
        """The Hosted UI URL for one flow (response_type=code, PKCE S256); `login_hint`
        pre-fills the sign-in form's username."""
        extra = {} if login_hint is None else {"login_hint": login_hint}
        url, _ = self._client.create_authorization_url(
            self._authorize_url,
            state=state,
            scope=self._scope,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method="S256",
            **extra,
        )
        return str(url)

    async def exchange_code(self, code: str, *, code_verifier: str) -> TokenGrant:
        """Trade an authorization code (and its PKCE verifier) for tokens."""
        body = await self._call(
            lambda: self._client.fetch_token(
                self._token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
        )
        return _grant(body, sent_refresh_token=None)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """Trade a refresh token for fresh tokens; `refresh_token` is None unless rotated."""
        body = await self._call(
            lambda: self._client.refresh_token(self._token_url, refresh_token=refresh_token)
        )
        return _grant(body, sent_refresh_token=refresh_token)

    async def revoke(self, refresh_token: str) -> bool:
        """Revoke a refresh token and its access tokens; True if Cognito accepted."""
        response = await self._call(
            lambda: self._client.revoke_token(self._revoke_url, token=refresh_token)
        )
        _refuse_outage(response)
        if response.status_code == 200:
            return True
        log.warning("Cognito refused a revocation (HTTP %s)", response.status_code)
        return False

    async def close(self) -> None:
        """Release the HTTP client and its connections."""
        await self._client.aclose()

    async def _counted(self, request: Callable[[], Awaitable[Any]]) -> Any:
        """The request within the deadline, counted by outcome (an OAuth error, a status, a
        transport failure)."""
        try:
            async with asyncio.timeout(self._timeout):
                result = await request()
        except Exception as exc:
            upstream_metrics.count(COGNITO, _outcome(exc))
            raise
        upstream_metrics.count(COGNITO, upstream_metrics.OK)
        return result

    async def _call(self, request: Callable[[], Awaitable[Any]]) -> Any:
        """Run one request, translating every failure once, with nothing secret in a message.
        Each takes its share of the token endpoint's budget first (refused: no request)."""
        if self._budget is not None:
            await self._budget.spend("token")
        try:
            result = await self._counted(request)
        except UpstreamUnavailableError:
            raise
        except AuthlibBaseError as exc:
            raise _oauth_error(exc) from exc
        except httpx.HTTPStatusError as exc:
            raise OAuthProtocolError(
                "invalid_response",
                f"Cognito answered HTTP {exc.response.status_code} without an OAuth error",
            ) from exc
        except (httpx.TransportError, TimeoutError) as exc:
            raise UpstreamUnavailableError(
                "Cognito is unreachable", retry_after=_DEFAULT_RETRY_AFTER
            ) from exc
        except ValueError as exc:  # authlib: a 2xx body that is not a JSON object
            raise OAuthProtocolError(
                "invalid_response", "Cognito's token answer is not a JSON object"
            ) from exc
        # authlib keeps the last answer on the client; one client serves every user, so drop it.
        self._client.token = None
        return result


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, AuthlibBaseError):
        error = str(exc.error or "")
        # Cognito's words become a label: only a short code of safe characters.
        return error if _ERROR_CODE.fullmatch(error) and len(error) <= 32 else "oauth_error"
    if isinstance(exc, httpx.HTTPStatusError):
        return str(exc.response.status_code)
    return type(exc).__name__


def _oauth_error(exc: AuthlibBaseError) -> ConnectorError:
    error = str(exc.error) if exc.error is not None else ""
    if error == "invalid_grant":
        return InvalidGrantError("Cognito rejected the grant (invalid_grant)")
    if not _ERROR_CODE.fullmatch(error):
        error = "invalid_response"
    # The description is not passed on: it is upstream text and may echo what we sent.
    return OAuthProtocolError(error, f"Cognito answered {error}")


def _grant(body: Mapping[str, Any], *, sent_refresh_token: str | None) -> TokenGrant:
    """The token answer as a TokenGrant, or OAuthProtocolError('invalid_response')."""
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthProtocolError("invalid_response", "Cognito's token answer has no access_token")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OAuthProtocolError("invalid_response", "Cognito's token answer is not a Bearer token")
    refresh_token = _optional_text(body, "refresh_token")
    # authlib copies the old refresh token into the answer when Cognito does not rotate.
    if refresh_token is not None and refresh_token == sent_refresh_token:
        refresh_token = None
    return TokenGrant(
        access_token=access_token,
        id_token=_optional_text(body, "id_token"),
        refresh_token=refresh_token,
        expires_in=_expires_in(body.get("expires_in")),
        scope=_optional_text(body, "scope"),
    )


def _expires_in(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise OAuthProtocolError(
            "invalid_response", "Cognito's token answer has no valid expires_in"
        )
    return value


def _optional_text(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise OAuthProtocolError("invalid_response", f"Cognito's token answer has a bad {field}")
    return value
