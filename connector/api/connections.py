"""The user's connection, without secrets."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import Provide

from connector.api import operations
from connector.api.envelope import ApiResponse, ok
from connector.api.responses import error_responses
from connector.api.schemas import ConnectionView
from connector.api.security import SECURITY, ServicesDep, UserId, provide_user_id, requires
from connector.domain.models import Scope
from connector.errors import ErrorCode


class ConnectionController(Controller):
    path = "/connection"
    tags = ["connection"]
    security = SECURITY
    dependencies = {"user_id": Provide(provide_user_id)}

    @get(
        operation_id="getConnection",
        guards=[requires(Scope.CONNECTION_READ)],
        responses=error_responses(ErrorCode.MISSING_USER_ID, ErrorCode.NOT_CONNECTED),
    )
    async def get_connection(
        self, services: ServicesDep, user_id: UserId
    ) -> ApiResponse[ConnectionView]:
        """The user's connection: status, identity, scopes and token expiry — never a token."""
        return ok(await operations.get_connection(services, user_id))
