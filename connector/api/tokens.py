"""GET /token: a valid Cognito access token for the user."""

from __future__ import annotations

from litestar import get

from connector.api import operations
from connector.api.envelope import ApiResponse, ok
from connector.api.schemas import TokenData
from connector.api.security import (
    ServicesDep,
    UserId,
    acting_for_user,
)
from connector.domain.models import Scope
from connector.errors import ErrorCode


@get(
    "/token",
    operation_id="getToken",
    tags=["connection"],
    **acting_for_user(
        Scope.TOKEN_READ,
        ErrorCode.NOT_CONNECTED,
        ErrorCode.REAUTH_REQUIRED,
        ErrorCode.UPSTREAM_UNAVAILABLE,
    ),
)
async def get_token(services: ServicesDep, user_id: UserId) -> ApiResponse[TokenData]:
    """A Cognito access token that is not about to expire (refreshed first when it is).
    Needs the `token:read` scope, which keys only get when it is asked for by name."""
    return ok(await operations.get_token(services, user_id))
