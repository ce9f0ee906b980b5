"""OAuth errors as Cognito words them; the app turns each into a JSON body and a status.

OAuthError (400 unless told)
 - invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type,
   unsupported_token_type, invalid_scope, unsupported_response_type
 - invalid_client (401, with WWW-Authenticate)
 - invalid_token (401, userInfo)
"""

from __future__ import annotations


class OAuthError(Exception):
    """An RFC 6749 error code, the HTTP status it travels with, and an optional description."""

    def __init__(self, error: str, description: str | None = None, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def invalid_token(description: str) -> OAuthError:
    return OAuthError("invalid_token", description, status=401)
