"""The IdentityBroker port on boto3: Cognito Identity (and STS for the basic flow)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from connector.adapters.aws_clients import AwsClients
from connector.adapters.aws_errors import map_aws_error
from connector.domain.aws import AwsCredentials
from connector.domain.ports import UpstreamBudget
from connector.errors import ErrorCode, InternalError
from connector.settings import CognitoSettings

_OPERATION = ErrorCode.GET_CONNECTION_FAILED
_AWS_ERRORS = (ClientError, BotoCoreError)
# STS RoleSessionName: 2-64 characters of [\w+=,.@-].
_SESSION_NAME_FORBIDDEN = re.compile(r"[^\w+=,.@-]", re.ASCII)
_SESSION_NAME_MAX = 64
# The Cognito Identity operations whose calls are budgeted (STS is not Cognito's quota).
_BUDGETED = {
    "get_id": "GetId",
    "get_credentials_for_identity": "GetCredentialsForIdentity",
    "get_open_id_token": "GetOpenIdToken",
}


def role_session_name(identity_id: str) -> str:
    """An STS session name derived from the identity id (`region:uuid` has a colon STS refuses)."""
    name = "connector-" + _SESSION_NAME_FORBIDDEN.sub("-", identity_id)
    return name[:_SESSION_NAME_MAX]


class CognitoIdentityBroker:
    """ID token -> identity id -> temporary credentials, with unsigned (public) calls only.

    Every Cognito Identity call first takes its share of `budget` (shared by the replicas).
    The enhanced flow asks Cognito Identity for credentials of the pool's authenticated role;
    with `role_arn` the basic flow gets an OpenID token and assumes that role through STS.
    """

    def __init__(
        self,
        settings: CognitoSettings,
        clients: AwsClients,
        *,
        role_arn: str | None = None,
        session_seconds: int = 3600,
        budget: UpstreamBudget | None = None,
    ) -> None:
        self._budget = budget
        self._pool_id = settings.identity_pool_id
        self._logins_key = settings.logins_key
        self._clients = clients
        self._role_arn = role_arn
        self._session_seconds = session_seconds

    async def get_identity_id(self, id_token: str) -> str:
        """GetId with Logins = {<issuer without scheme>: id_token}; called once per user."""
        answer = await self._call(
            "cognito-identity",
            "get_id",
            IdentityPoolId=self._identity_pool_id(),
            Logins=self._logins(id_token),
        )
        return str(answer["IdentityId"])

    async def get_credentials(self, identity_id: str, id_token: str) -> AwsCredentials:
        """GetCredentialsForIdentity (enhanced flow), or GetOpenIdToken +
        AssumeRoleWithWebIdentity when a role ARN is configured (basic flow)."""
        if self._role_arn is None:
            answer = await self._call(
                "cognito-identity",
                "get_credentials_for_identity",
                IdentityId=identity_id,
                Logins=self._logins(id_token),
            )
            issued = answer["Credentials"]
            return _credentials(issued, issued["SecretKey"], str(answer["IdentityId"]))
        opened = await self._call(
            "cognito-identity",
            "get_open_id_token",
            IdentityId=identity_id,
            Logins=self._logins(id_token),
        )
        assumed = await self._call(
            "sts",
            "assume_role_with_web_identity",
            RoleArn=self._role_arn,
            RoleSessionName=role_session_name(identity_id),
            WebIdentityToken=opened["Token"],
            DurationSeconds=self._session_seconds,
        )
        issued = assumed["Credentials"]
        return _credentials(issued, issued["SecretAccessKey"], str(opened["IdentityId"]))

    async def _call(self, service: str, method: str, **params: Any) -> Any:
        # Unsigned: these Cognito Identity and STS calls carry the user's token instead.
        operation = _BUDGETED.get(method)
        if self._budget is not None and operation is not None:
            await self._budget.spend(operation)  # over budget: refused before AWS sees it
        client = self._clients.in_pool(service, None)
        try:
            return await self._clients.run(getattr(client, method), **params)
        except _AWS_ERRORS as exc:
            raise map_aws_error(exc, _OPERATION) from exc

    def _logins(self, id_token: str) -> dict[str, str]:
        return {self._logins_key: id_token}

    def _identity_pool_id(self) -> str:
        if self._pool_id is None:
            raise InternalError(
                "no identity pool is configured (AWS_COGNITO_IDENTITY_POOL_ID is unset)"
            )
        return self._pool_id


def _credentials(issued: Any, secret: str, identity_id: str) -> AwsCredentials:
    # Cognito Identity names the secret `SecretKey`, STS `SecretAccessKey`.
    expiration: datetime = issued["Expiration"]
    return AwsCredentials(
        access_key_id=str(issued["AccessKeyId"]),
        secret_access_key=str(secret),
        session_token=str(issued["SessionToken"]),
        expiration=expiration.astimezone(UTC),
        identity_id=identity_id,
        # Read after the answer: the lifetime measured from here is never longer than AWS's.
        issued_at=datetime.now(UTC),
    )
