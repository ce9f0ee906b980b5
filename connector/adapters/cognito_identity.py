"""The IdentityBroker port on boto3: Cognito Identity, and STS for the basic flow."""

from __future__ import annotations

from typing import Any

from connector.adapters.aws_clients import AwsClients
from connector.adapters.aws_errors import translated
from connector.adapters.sts_sessions import StsSessions, credentials_of, session_name
from connector.domain.aws import AwsCredentials
from connector.domain.ports import UpstreamBudget
from connector.errors import ErrorCode, InternalError
from connector.settings import CognitoSettings

_OPERATION = ErrorCode.GET_CONNECTION_FAILED
# The Cognito Identity operations whose calls are budgeted (STS is not Cognito's quota).
_BUDGETED = {
    "get_id": "GetId",
    "get_credentials_for_identity": "GetCredentialsForIdentity",
    "get_open_id_token": "GetOpenIdToken",
}


class CognitoIdentityBroker:
    """ID token -> identity id -> temporary credentials, with unsigned (public) calls only.

    The enhanced flow asks Cognito Identity for credentials of the pool's authenticated role
    (Cognito names that session itself). With `role_arn` every user gets the basic flow: an
    OpenID token from the pool, then STS AssumeRoleWithWebIdentity of that role, the session
    named after the user. Credentials with a session policy always take the basic flow, with
    `restricted_role_arn` (the identity pool must allow the classic flow).
    Every Cognito Identity call first takes its share of `budget` (shared by the replicas).
    """

    def __init__(
        self,
        settings: CognitoSettings,
        clients: AwsClients,
        *,
        role_arn: str | None = None,
        restricted_role_arn: str | None = None,
        session_seconds: int = 3600,
        session_name_key: bytes = b"",
        always_hash_names: bool = False,
        budget: UpstreamBudget | None = None,
    ) -> None:
        self._budget = budget
        self._pool_id = settings.identity_pool_id
        self._logins_key = settings.logins_key
        self._clients = clients
        self._role_arn = role_arn
        self._restricted_role_arn = restricted_role_arn or role_arn
        self._sts = StsSessions(clients, duration_seconds=session_seconds)
        self._name_key = session_name_key
        self._always_hash = always_hash_names

    @property
    def narrows(self) -> bool:
        """True when credentials can carry a session policy (a basic-flow role is configured)."""
        return self._restricted_role_arn is not None

    async def get_identity_id(self, id_token: str) -> str:
        """GetId with Logins = {<issuer without scheme>: id_token}; called once per user."""
        answer = await self._call(
            "get_id", IdentityPoolId=self._identity_pool_id(), Logins=self._logins(id_token)
        )
        return str(answer["IdentityId"])

    async def get_credentials(
        self, identity_id: str, id_token: str, *, user_id: str, policy: str | None = None
    ) -> AwsCredentials:
        """GetCredentialsForIdentity (enhanced flow), or GetOpenIdToken +
        AssumeRoleWithWebIdentity (basic flow: a role ARN is configured, or `policy` is given)."""
        role = self._role_arn if policy is None else self._restricted_role_arn
        if role is None:
            if policy is not None:
                raise InternalError("a session policy needs a basic-flow role ARN")
            answer = await self._call(
                "get_credentials_for_identity",
                IdentityId=identity_id,
                Logins=self._logins(id_token),
            )
            return credentials_of(answer["Credentials"], str(answer["IdentityId"]))
        opened = await self._call(
            "get_open_id_token", IdentityId=identity_id, Logins=self._logins(id_token)
        )
        return await self._sts.with_web_identity(
            role_arn=role,
            name=session_name(user_id, key=self._name_key, always_hash=self._always_hash),
            web_identity_token=str(opened["Token"]),
            identity_id=str(opened["IdentityId"]),
            policy=policy,
        )

    async def elevate(
        self, credentials: AwsCredentials, *, user_id: str, role_arn: str, policy: str | None
    ) -> AwsCredentials:
        """The user's credentials chained into `role_arn` (sts:AssumeRole, session named after
        the user, SourceIdentity set, `policy` as the session policy)."""
        return await self._sts.assume_role(
            credentials,
            role_arn=role_arn,
            name=session_name(user_id, key=self._name_key, always_hash=self._always_hash),
            policy=policy,
        )

    async def _call(self, method: str, **params: Any) -> Any:
        # Unsigned: these Cognito Identity calls carry the user's token instead.
        operation = _BUDGETED.get(method)
        if self._budget is not None and operation is not None:
            await self._budget.spend(operation)  # over budget: refused before AWS sees it
        client = self._clients.in_pool("cognito-identity", None)
        with translated(_OPERATION):
            return await self._clients.run(getattr(client, method), **params)

    def _logins(self, id_token: str) -> dict[str, str]:
        return {self._logins_key: id_token}

    def _identity_pool_id(self) -> str:
        if self._pool_id is None:
            raise InternalError(
                "no identity pool is configured (AWS_COGNITO_IDENTITY_POOL_ID is unset)"
            )
        return self._pool_id
