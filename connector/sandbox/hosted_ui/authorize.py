"""Validation of an authorization request, as /oauth2/authorize and /login both must do it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from connector.sandbox.hosted_ui.config import (
    CODE_FLOW,
    OIDC_ATTRIBUTE_SCOPES,
    AppClient,
    HostedUiConfig,
)

_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)

Params = Mapping[str, Sequence[str]]
"""Request parameters with every value given for each name (repeats are refused)."""


class UnredirectableError(Exception):
    """No trusted redirect URI (unknown client, unregistered redirect_uri): a 400 error page."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class RedirectableError(Exception):
    """The client and redirect URI are valid: the error travels back as `?error=...&state=...`."""

    def __init__(self, error: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.location = redirect_with(redirect_uri, {"error": error, "state": state})


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A validated request: everything the code will be bound to."""

    client: AppClient
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def hidden_fields(self) -> dict[str, str]:
        """The request as the login form carries it to POST /login."""
        values = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }
        return {name: value for name, value in values.items() if value is not None}


def redirect_with(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """`redirect_uri` with `params` added to its query (values that are None are left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"


def _single(params: Params, name: str) -> str | None:
    values = params.get(name, ())
    return values[0] if len(values) == 1 and values[0] != "" else None


def parse_authorize(config: HostedUiConfig, params: Params) -> AuthorizeRequest:
    """The validated request, or UnredirectableError / RedirectableError as Cognito decides."""
    client_id = _single(params, "client_id")
    client = config.client(client_id) if client_id else None
    if client is None:
        raise UnredirectableError("invalid_request", "The app client does not exist.")
    redirect_uri = _single(params, "redirect_uri")
    if redirect_uri is None or redirect_uri not in client.callback_urls:
        raise UnredirectableError(
            "redirect_mismatch", "redirect_uri is not a callback URL of this app client."
        )
    state = _single(params, "state")

    def fail(error: str) -> RedirectableError:
        return RedirectableError(error, redirect_uri, state)

    if any(len(params.get(name, ())) > 1 for name in _FIELDS):
        raise fail("invalid_request")
    response_type = _single(params, "response_type")
    if response_type is None:
        raise fail("invalid_request")
    if response_type == "token" or (
        response_type == CODE_FLOW and CODE_FLOW not in client.allowed_flows
    ):
        raise fail("unauthorized_client")
    if response_type != CODE_FLOW:
        raise fail("unsupported_response_type")
    scopes = _scopes(client, _single(params, "scope"))
    if scopes is None:
        raise fail("invalid_scope")
    method = _single(params, "code_challenge_method")
    challenge = _single(params, "code_challenge")
    if _pkce_refused(client, challenge, method):
        raise fail("invalid_request")
    return AuthorizeRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        nonce=_single(params, "nonce"),
        code_challenge=challenge,
        code_challenge_method=method,
    )


def _scopes(client: AppClient, requested: str | None) -> tuple[str, ...] | None:
    if requested is None:
        return client.allowed_scopes
    scopes = tuple(dict.fromkeys(requested.split()))
    if not scopes or any(scope not in client.allowed_scopes for scope in scopes):
        return None
    if OIDC_ATTRIBUTE_SCOPES.intersection(scopes) and "openid" not in scopes:
        return None
    return scopes


def _pkce_refused(client: AppClient, challenge: str | None, method: str | None) -> bool:
    if challenge is None:
        return method is not None or client.require_pkce
    # Cognito documents S256 only; `plain` is refused so a connector regression shows at once.
    return method != "S256" or not _S256_CHALLENGE.match(challenge)
