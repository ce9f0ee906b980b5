"""App-client authentication at /oauth2/token and /oauth2/revoke: Basic, body secret, or none."""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import unquote_plus

from connector.sandbox.hosted_ui.config import AppClient, HostedUiConfig
from connector.sandbox.hosted_ui.errors import OAuthError, invalid_client


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("Only HTTP Basic client authentication is supported in the header.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_client("Malformed Basic credentials.") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("Malformed Basic credentials.")
    # RFC 6749 2.3.1: both parts are form-encoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(
    config: HostedUiConfig,
    *,
    authorization: str | None,
    body_client_id: str | None,
    body_client_secret: str | None,
) -> AppClient:
    """The authenticated app client, or invalid_client (401) / invalid_request (400)."""
    basic = _basic_credentials(authorization)
    if basic is not None and body_client_secret is not None:
        raise OAuthError("invalid_request", "More than one client authentication method.")
    secret: str | None
    if basic is not None:
        client_id, secret = basic
        if body_client_id is not None and body_client_id != client_id:
            raise invalid_client("client_id in the body does not match the Basic credentials.")
    else:
        client_id, secret = body_client_id or "", body_client_secret
    if not client_id:
        raise invalid_client("Client authentication is missing.")
    client = config.client(client_id)
    if client is None:
        raise invalid_client("Unknown client.")
    if client.client_secret is None:
        if secret:
            raise invalid_client("This app client has no secret.")
        return client
    if secret is None or not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
        raise invalid_client("Client secret is missing or wrong.")
    return client
