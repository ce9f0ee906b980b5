"""POST /oauth2/token: client authentication, then the authorization_code or refresh_token grant."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import replace
from typing import Any

from connector.sandbox.hosted_ui.authorize import Params
from connector.sandbox.hosted_ui.client_auth import authenticate_client
from connector.sandbox.hosted_ui.config import CODE_FLOW, AppClient
from connector.sandbox.hosted_ui.errors import OAuthError
from connector.sandbox.hosted_ui.hosted_ui import HostedUi
from connector.sandbox.hosted_ui.state import AuthorizationCode, RefreshSession
from connector.sandbox.hosted_ui.tokens import (
    Grant,
    access_token_claims,
    id_token_claims,
    sign,
)

_GRANTS = ("authorization_code", "refresh_token", "client_credentials")


def form_value(form: Params, name: str) -> str | None:
    """One value of a form field; a repeated field is invalid_request (RFC 6749 3.1)."""
    values = form.get(name, ())
    if len(values) > 1:
        raise OAuthError("invalid_request", f"{name} is repeated.")
    return values[0] if values and values[0] != "" else None


def client_of(hosted_ui: HostedUi, form: Params, authorization: str | None) -> AppClient:
    return authenticate_client(
        hosted_ui.config,
        authorization=authorization,
        body_client_id=form_value(form, "client_id"),
        body_client_secret=form_value(form, "client_secret"),
    )


def count_grant_type(hosted_ui: HostedUi, form: Params) -> None:
    """Count the request under its grant type, whatever its outcome."""
    grant_type = (form.get("grant_type") or [""])[0]
    if grant_type == "authorization_code":
        hosted_ui.stats.code_grants += 1
    elif grant_type == "refresh_token":
        hosted_ui.stats.refresh_grants += 1


async def token(hosted_ui: HostedUi, form: Params, authorization: str | None) -> dict[str, Any]:
    """POST /oauth2/token: the JSON body of a successful answer, or an OAuthError."""
    grant_type = form_value(form, "grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", "grant_type is missing.")
    if grant_type not in _GRANTS:
        raise OAuthError("unsupported_grant_type")
    client = client_of(hosted_ui, form, authorization)
    if grant_type == "authorization_code":
        return await _exchange_code(hosted_ui, client, form)
    if grant_type == "refresh_token":
        return await _refresh(hosted_ui, client, form)
    raise OAuthError("unauthorized_client", "The client_credentials flow is not enabled.")


async def _exchange_code(hosted_ui: HostedUi, client: AppClient, form: Params) -> dict[str, Any]:
    code_value, redirect_uri = form_value(form, "code"), form_value(form, "redirect_uri")
    if code_value is None or redirect_uri is None:
        raise OAuthError("invalid_request", "code and redirect_uri are required.")
    if CODE_FLOW not in client.allowed_flows or redirect_uri not in client.callback_urls:
        # Cognito answers unauthorized_client when redirect_uri is no callback URL at all.
        raise OAuthError("unauthorized_client")
    code = hosted_ui.store.take_code(code_value, client.client_id)
    if code is None or hosted_ui.now() >= code.expires_at:
        raise OAuthError("invalid_grant", "Authorization code is expired, used or unknown.")
    if code.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request.")
    _check_pkce(code, form_value(form, "code_verifier"))
    user = await hosted_ui.directory.get(code.username)
    if user is None:
        raise OAuthError("invalid_grant", "The user no longer exists.")
    now = hosted_ui.now()
    grant = Grant(
        user, client.client_id, code.scopes, code.auth_time, str(uuid.uuid4()), code.event_id
    )
    session = RefreshSession(
        token=hosted_ui.new_refresh_token(),
        client_id=client.client_id,
        username=user.username,
        scopes=code.scopes,
        auth_time=code.auth_time,
        origin_jti=grant.origin_jti,
        event_id=code.event_id,
        expires_at=now + hosted_ui.config.refresh_token_ttl,
    )
    hosted_ui.store.add_session(session)
    return _issue(hosted_ui, grant, nonce=code.nonce, refresh_token=session.token)


def _check_pkce(code: AuthorizationCode, verifier: str | None) -> None:
    if code.code_challenge is None:
        return
    if verifier is None:
        raise OAuthError("invalid_request", "code_verifier is required.")
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(computed, code.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")


async def _refresh(hosted_ui: HostedUi, client: AppClient, form: Params) -> dict[str, Any]:
    presented = form_value(form, "refresh_token")
    if presented is None:
        raise OAuthError("invalid_request", "refresh_token is required.")
    if not client.allow_refresh_token_auth:
        raise OAuthError("unauthorized_client")
    config, grace = hosted_ui.config, hosted_ui.config.rotation_grace_seconds
    session = hosted_ui.store.usable_session(presented, hosted_ui.now(), grace)
    if session is None or session.client_id != client.client_id:
        raise OAuthError("invalid_grant", "Refresh token is invalid, expired or revoked.")
    user = await hosted_ui.directory.get(session.username)
    if user is None:
        raise OAuthError("invalid_grant", "The user no longer exists.")
    now = hosted_ui.now()
    grant = Grant(
        user,
        client.client_id,
        session.scopes,
        session.auth_time,
        session.origin_jti,
        session.event_id,
    )
    if not config.rotate_refresh_tokens:
        if hosted_ui.store.usable_session(presented, now, grace) is None:
            raise OAuthError("invalid_grant", "Refresh token was revoked.")
        return _issue(hosted_ui, grant, nonce=None, refresh_token=None)
    # A rotated token keeps the family's expiry: rotation never lengthens a sign-in.
    successor = replace(session, token=hosted_ui.new_refresh_token(), rotated_at=None)
    if not hosted_ui.store.rotate(presented, successor, now, grace):
        raise OAuthError("invalid_grant", "Refresh token was revoked or already rotated.")
    return _issue(hosted_ui, grant, nonce=None, refresh_token=successor.token)


def _issue(
    hosted_ui: HostedUi, grant: Grant, *, nonce: str | None, refresh_token: str | None
) -> dict[str, Any]:
    config, now = hosted_ui.config, hosted_ui.now()
    access = sign(
        access_token_claims(grant, issuer=config.issuer, now=now, ttl=config.access_token_ttl),
        hosted_ui.keys.access_token_key,
    )
    body: dict[str, Any] = {"access_token": access}
    if "openid" in grant.scopes:
        claims = id_token_claims(
            grant, issuer=config.issuer, now=now, ttl=config.id_token_ttl, nonce=nonce
        )
        body["id_token"] = sign(claims, hosted_ui.keys.id_token_key, access_token=access)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body["token_type"] = "Bearer"  # noqa: S105 - a token type, not a secret
    body["expires_in"] = config.access_token_ttl
    hosted_ui.stats.tokens_issued += 1
    return body
