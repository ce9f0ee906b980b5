"""The connection routes as request builders: health, the OAuth flow, tokens, credentials.

Each function returns the Call one client method sends; both clients expose them with these
signatures and docstrings (see `_operation`).
"""

from __future__ import annotations

from connector_client._body import json_body
from connector_client._receive import Decode
from connector_client._transport import JSON, Call, data_of, path_segment
from connector_client.models import (
    AccessToken,
    AwsCredentials,
    Connection,
    ConnectionList,
    Disconnected,
    FlowStart,
    FlowStatus,
    Health,
    ProviderConnection,
    Rejected,
)


def health() -> Call[Health]:
    """Liveness and readiness of the connector's database and cache."""
    return Call(method="GET", path="/health", receive=Decode(data_of(Health)))


def connect(
    user_id: str,
    redirect_uri: str | None = None,
    *,
    login_hint: str | None = None,
    replace: bool = False,
    provider: str | None = None,
) -> Call[FlowStart]:
    """Start a connection flow for the user: send their browser to `auth_url`. `redirect_uri`
    (on the connector's allow-list) is where the browser returns afterwards; `login_hint`
    pre-fills the sign-in form; `replace` lets another Cognito account replace the stored one."""
    return Call(
        method="GET",
        path="/connect",
        user_id=user_id,
        provider=provider,
        params={
            "redirect_uri": redirect_uri,
            "loginHint": login_hint,
            "replace": "true" if replace else None,
        },
        receive=Decode(data_of(FlowStart)),
    )


def confirm_connect(user_id: str, confirmation: str) -> Call[Connection]:
    """Confirm a sign-in your return URL received (`status=pending&confirmation=…`) for your
    signed-in user; check first that its `state` is one this browser session started. Raises
    IdentityMismatchError when the flow was another user's (nothing stored, sign-in revoked)."""
    return Call(
        method="POST",
        path="/connect/confirm",
        user_id=user_id,
        body=json_body({"confirmation": confirmation}),
        headers={"Content-Type": JSON},
        receive=Decode(data_of(Connection)),
        idempotent=False,
    )


def reject_connect(confirmation: str) -> Call[Rejected]:
    """Drop a sign-in your return URL received when no user of yours started it."""
    return Call(
        method="POST",
        path="/connect/reject",
        body=json_body({"confirmation": confirmation}),
        headers={"Content-Type": JSON},
        receive=Decode(data_of(Rejected)),
        idempotent=False,
    )


def connect_status(state: str) -> Call[FlowStatus]:
    """Where a flow stands: pending, pending_confirmation, completed, failed or expired."""
    return Call(
        method="GET",
        path=f"/connect/status/{path_segment(state)}",
        receive=Decode(data_of(FlowStatus)),
    )


def complete_callback(code: str, state: str, *, user_id: str | None = None) -> Call[Connection]:
    """Exchange an authorization code your app received itself; returns the connection.
    `user_id` (your signed-in user, the flow's) is required unless the binding is `none`."""
    return Call(
        method="POST",
        path="/callback",
        user_id=user_id,
        body=json_body({"code": code, "state": state}),
        headers={"Content-Type": JSON},
        receive=Decode(data_of(Connection)),
        idempotent=False,
    )


def disconnect(
    user_id: str, *, provider: str | None = None, all_providers: bool = False
) -> Call[Disconnected]:
    """Revoke the user's refresh token and forget the connection (idempotent): the one with
    `provider` (None: the default provider), or with `all_providers` every provider the key
    may act on (`providers` in the answer lists them)."""
    return Call(
        method="POST",
        path="/disconnect",
        user_id=user_id,
        provider=provider,
        params={"all": "true" if all_providers else None},
        receive=Decode(data_of(Disconnected)),
    )


def list_connections(user_id: str) -> Call[list[ProviderConnection]]:
    """Every connection of the user, one per provider (and the key's providers), by name."""
    decode = data_of(ConnectionList)
    return Call(
        method="GET",
        path="/connections",
        user_id=user_id,
        receive=Decode(lambda content: decode(content).connections),
    )


def get_connection(user_id: str, *, provider: str | None = None) -> Call[Connection]:
    """The user's connection, without secrets (NotConnectedError when there is none)."""
    return Call(
        method="GET",
        path="/connection",
        user_id=user_id,
        provider=provider,
        receive=Decode(data_of(Connection)),
    )


def get_token(user_id: str, *, provider: str | None = None) -> Call[AccessToken]:
    """A valid Cognito access token for the user (needs the `token:read` scope)."""
    return Call(
        method="GET",
        path="/token",
        user_id=user_id,
        provider=provider,
        receive=Decode(data_of(AccessToken)),
    )


def get_credentials(user_id: str, *, provider: str | None = None) -> Call[AwsCredentials]:
    """The user's temporary AWS credentials (needs the `credentials:read` scope)."""
    return Call(
        method="GET",
        path="/credentials",
        user_id=user_id,
        provider=provider,
        receive=Decode(data_of(AwsCredentials)),
    )
