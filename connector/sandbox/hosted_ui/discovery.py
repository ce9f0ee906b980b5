"""The OpenID Connect discovery document Cognito serves under the pool's issuer."""

from __future__ import annotations

from typing import Any

from connector.sandbox.hosted_ui.config import HostedUiConfig


def openid_configuration(config: HostedUiConfig) -> dict[str, Any]:
    base = config.base_url
    return {
        "issuer": config.issuer,
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "userinfo_endpoint": f"{base}/oauth2/userInfo",
        "revocation_endpoint": f"{base}/oauth2/revoke",
        "jwks_uri": config.jwks_uri,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }
