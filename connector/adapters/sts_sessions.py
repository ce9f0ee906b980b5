"""STS sessions the connector names itself: AssumeRoleWithWebIdentity (the identity pool's basic
flow) and AssumeRole (role elevation), with a session policy and a session name carrying the user.

RoleSessionName appears in the assumed-role ARN, so in CloudTrail: it carries the user id when
STS accepts it (2-64 characters of [\\w+=,.@-]), else `u-` and a keyed hash of it (HMAC-SHA256,
so a name reveals nothing of a user id that does not fit, an email with a `+` aside). With
`always_hash` every name is hashed (user ids that are emails must not appear in ARNs and logs).
SourceIdentity is sent only with AssumeRole: AssumeRoleWithWebIdentity has no such parameter.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any

from connector.adapters.aws_clients import AwsClients
from connector.adapters.aws_errors import translated
from connector.domain.aws import AwsCredentials
from connector.errors import ErrorCode

_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_HASH_CHARS = 40
_OPERATION = ErrorCode.GET_CONNECTION_FAILED


def session_name(user_id: str, *, key: bytes, always_hash: bool = False) -> str:
    """The RoleSessionName for `user_id`: itself when STS accepts it, else a keyed hash."""
    if not always_hash and _SESSION_NAME.fullmatch(user_id):
        return user_id
    digest = hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()
    return f"u-{digest[:_HASH_CHARS]}"


class StsSessions:
    """The two STS calls; errors mapped by the one AWS table (ACCESS_DENIED keeps the code)."""

    def __init__(self, clients: AwsClients, *, duration_seconds: int = 3600) -> None:
        self._clients = clients
        self._duration = duration_seconds

    async def with_web_identity(
        self,
        *,
        role_arn: str,
        name: str,
        web_identity_token: str,
        identity_id: str,
        policy: str | None,
    ) -> AwsCredentials:
        """AssumeRoleWithWebIdentity: unsigned, the identity pool's OpenID token is the proof."""
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": name,
            "WebIdentityToken": web_identity_token,
            "DurationSeconds": self._duration,
        }
        if policy is not None:
            params["Policy"] = policy
        client = self._clients.in_pool("sts", None)
        with translated(_OPERATION):
            answer = await self._clients.run(client.assume_role_with_web_identity, **params)
        return credentials_of(answer["Credentials"], identity_id)

    async def assume_role(
        self,
        caller: AwsCredentials,
        *,
        role_arn: str,
        name: str,
        policy: str | None,
    ) -> AwsCredentials:
        """AssumeRole signed with the user's own credentials (role elevation); the session is
        named after the user and carries SourceIdentity, which sticks to every chained role."""
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": name,
            "SourceIdentity": name,
            "DurationSeconds": min(self._duration, 3600),  # role chaining caps at one hour
        }
        if policy is not None:
            params["Policy"] = policy
        client = self._clients.in_pool("sts", caller)
        with translated(_OPERATION):
            answer = await self._clients.run(client.assume_role, **params)
        return credentials_of(answer["Credentials"], caller.identity_id)


def credentials_of(issued: Any, identity_id: str) -> AwsCredentials:
    """Credentials from an STS or Cognito Identity answer (Cognito names the secret
    `SecretKey`, STS `SecretAccessKey`)."""
    expiration: datetime = issued["Expiration"]
    return AwsCredentials(
        access_key_id=str(issued["AccessKeyId"]),
        secret_access_key=str(issued.get("SecretAccessKey") or issued["SecretKey"]),
        session_token=str(issued["SessionToken"]),
        expiration=expiration.astimezone(UTC),
        identity_id=identity_id,
        # Read after the answer: the lifetime measured from here is never longer than AWS's.
        issued_at=datetime.now(UTC),
    )
