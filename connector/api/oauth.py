"""The connection flow: /connect, /callback (browser and API), status polling, disconnect."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from connector.api import operations
from connector.api.envelope import ApiResponse, ErrorResponse, ok
from connector.api.exception_handlers import envelope_response
from connector.api.pages import NO_LEAK_HEADERS, accepts_json, page, redirect_back
from connector.api.responses import error_responses
from connector.api.schemas import (
    CallbackBody,
    ConnectData,
    ConnectionView,
    DisconnectData,
    FlowStatusData,
)
from connector.api.security import (
    SECURITY,
    OptionalUserId,
    ServicesDep,
    UserId,
    acting_for_user,
    provide_optional_user_id,
    provide_user_id,
    requires,
)
from connector.domain.models import Scope
from connector.errors import ConnectorError, ErrorCode, InvalidStateError
from connector.services.oauth_flow import CallbackOutcome

_FLOW_ERRORS = (ErrorCode.UPSTREAM_UNAVAILABLE, ErrorCode.INTERNAL_ERROR)


class ConnectController(Controller):
    path = "/connect"
    tags = ["connection"]
    security = SECURITY
    guards = [requires(Scope.CONNECT)]

    @get(
        operation_id="connect",
        dependencies={"user_id": Provide(provide_user_id)},
        responses=error_responses(ErrorCode.MISSING_USER_ID, *_FLOW_ERRORS),
    )
    async def connect(
        self,
        services: ServicesDep,
        user_id: UserId,
        redirect_uri: Annotated[
            str | None,
            QueryParameter(description="Where the browser returns; must be on the allow-list."),
        ] = None,
    ) -> ApiResponse[ConnectData]:
        """Start a flow: send the user's browser to `authUrl` (Cognito Hosted UI, PKCE S256).
        The `state` is single-use and expires at `expiresAt` (10 minutes)."""
        return ok(await operations.connect(services, user_id, redirect_uri))

    # `state` is a reserved Litestar kwarg: the path parameter is named `flow_state`.
    @get(
        "/status/{flow_state:str}",
        operation_id="getConnectStatus",
        responses=error_responses(ErrorCode.UPSTREAM_UNAVAILABLE),
    )
    async def get_status(
        self, services: ServicesDep, flow_state: FromPath[str]
    ) -> ApiResponse[FlowStatusData]:
        """`pending`, `completed`, `failed` or `expired` (unknown states read `expired`).
        Needs the `connect` scope but no X-User-Id: the state itself is the capability."""
        status = await services.oauth().flow.status(flow_state)
        return ok(FlowStatusData(state=flow_state, status=status.value))


class CallbackController(Controller):
    path = "/callback"
    tags = ["connection"]

    @get(
        operation_id="browserCallback",
        responses={
            302: ResponseSpec(None, description="Back to the app: `status=connected` or `error`"),
            400: ResponseSpec(
                ErrorResponse,
                description="INVALID_STATE or CALLBACK_FAILED without a return URL: an HTML "
                "page, or this envelope when the request accepts only JSON",
            ),
        },
    )
    async def browser_callback(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        flow_state: Annotated[str | None, QueryParameter(name="state")] = None,
        code: FromQuery[str | None] = None,
        error: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Where Cognito sends the browser. Redirects (302) to the flow's return URL with
        `status=connected&state=…` or `error=<CODE>&state=…`; an HTML page when the flow has
        no return URL; 400 `INVALID_STATE` (no redirect) for an unknown or reused state."""
        try:
            outcome = await services.oauth().flow.complete(
                flow_state or "", code=code, upstream_error=error
            )
        except InvalidStateError as exc:
            return _refusal(request, exc, "Sign-in link expired", "Start again from the app.")
        return _outcome_response(request, outcome)

    @post(
        operation_id="completeCallback",
        guards=[requires(Scope.CONNECT)],
        security=SECURITY,
        status_code=200,
        dependencies={"expected_user": Provide(provide_optional_user_id)},
        responses=error_responses(
            ErrorCode.INVALID_STATE, ErrorCode.CALLBACK_FAILED, *_FLOW_ERRORS
        ),
    )
    async def complete_callback(
        self, services: ServicesDep, data: JSONBody[CallbackBody], expected_user: OptionalUserId
    ) -> ApiResponse[ConnectionView]:
        """For apps that receive the code themselves. An `X-User-Id`, if sent, must be the
        state's user. Any refusal burns the state."""
        connection = await operations.complete_callback(
            services, code=data.code, state=data.state, expected_user=expected_user
        )
        return ok(connection)


@post(
    "/disconnect",
    operation_id="disconnect",
    tags=["connection"],
    status_code=200,
    **acting_for_user(Scope.CONNECT),
)
async def disconnect(services: ServicesDep, user_id: UserId) -> ApiResponse[DisconnectData]:
    """Revoke the refresh token at Cognito, delete the connection and every cached item.
    Idempotent; `revoked` says whether Cognito accepted the revocation."""
    return ok(await operations.disconnect(services, user_id))


def _outcome_response(request: Request[Any, Any, Any], outcome: CallbackOutcome) -> Response[Any]:
    if outcome.redirect_uri:
        result = (
            {"error": str(outcome.error.error_code)} if outcome.error else {"status": "connected"}
        )
        return redirect_back(outcome.redirect_uri, **result, state=outcome.state)
    if outcome.error is not None:
        return _refusal(request, outcome.error, "Sign-in failed", "The connection was not made.")
    if accepts_json(request) and outcome.connection is not None:
        return Response(ok(ConnectionView.of(outcome.connection)), headers=NO_LEAK_HEADERS)
    return page("Connected", "You can close this window.", 200)


def _refusal(
    request: Request[Any, Any, Any], error: ConnectorError, title: str, message: str
) -> Response[Any]:
    """No trusted return URL: an envelope for JSON clients, a short page for browsers."""
    if accepts_json(request):
        response = envelope_response(error)
        response.headers.update(NO_LEAK_HEADERS)
        return response
    return page(title, message, 400)
