"""POST /oauth2/revoke: a refresh token and every token of its sign-in stop working."""

from __future__ import annotations

from connector.sandbox.hosted_ui.authorize import Params
from connector.sandbox.hosted_ui.errors import OAuthError
from connector.sandbox.hosted_ui.grants import client_of, form_value
from connector.sandbox.hosted_ui.hosted_ui import HostedUi
from connector.sandbox.hosted_ui.tokens import looks_like_jwt


async def revoke(hosted_ui: HostedUi, form: Params, authorization: str | None) -> None:
    """POST /oauth2/revoke: revoke the refresh token's whole sign-in; ignore unknown tokens."""
    client = client_of(hosted_ui, form, authorization)
    presented = form_value(form, "token")
    if presented is None:
        raise OAuthError("invalid_request", "token is required.")
    if looks_like_jwt(presented) is not None:
        raise OAuthError("unsupported_token_type", "Only refresh tokens can be revoked.")
    session = hosted_ui.store.session(presented)
    if session is None or session.client_id != client.client_id:
        return  # unknown, or another client's: 200 and nothing changes, as Cognito does
    if hosted_ui.store.revoke_origin(session.origin_jti):
        hosted_ui.stats.sign_ins_revoked += 1
