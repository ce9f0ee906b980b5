"""GET /credentials: the user's temporary AWS credentials."""

from __future__ import annotations

from litestar import get

from connector.api import operations
from connector.api.envelope import ApiResponse, ok
from connector.api.responses import AS_USER
from connector.api.schemas import CredentialsData
from connector.api.security import (
    ServicesDep,
    UserId,
    acting_for_user,
)
from connector.domain.models import Scope


@get(
    "/credentials",
    operation_id="getCredentials",
    tags=["connection"],
    **acting_for_user(Scope.CREDENTIALS_READ, *AS_USER),
)
async def get_credentials(services: ServicesDep, user_id: UserId) -> ApiResponse[CredentialsData]:
    """Temporary AWS credentials of the user's Cognito identity, re-minted before they expire
    (never handed out in their last sixth of life). Needs the `credentials:read` scope, which
    keys only get when it is asked for by name.

    `data` also carries `Version: 1`, the marker of AWS's `credential_process` format, which
    names its fields in PascalCase; a profile can map this answer onto it, for example:
    `credential_process = sh -c 'curl -fsS -H "Authorization: Bearer $KEY" -H "X-User-Id: alice"
    https://connector.example/credentials | jq ".data | {Version, AccessKeyId: .accessKeyId,
    SecretAccessKey: .secretAccessKey, SessionToken: .sessionToken, Expiration: .expiration}"'`.
    """
    return ok(await operations.get_credentials(services, user_id))
