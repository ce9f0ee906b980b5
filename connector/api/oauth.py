"""The connection flow: /connect (start, confirm, reject, status) and /callback (browser, API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from connector.api.dependencies import (
    CALLER,
    FLOWS,
    OAUTH,
    OPTIONAL_USER_ID,
    PROVIDER_NAME,
    REQUESTED_PROVIDER,
    USER_ID,
    Caller,
    FlowsDep,
    OAuthDep,
    OptionalUserId,
    UserId,
)
from connector.api.envelope import ApiResponse, ok
from connector.api.exception_handlers import envelope_response
from connector.api.guards import SECURITY, authenticated, may_name_user, names_user, requires
from connector.api.pages import NO_LEAK_HEADERS, accepts_json, page, redirect_back
from connector.api.parameters import LoginHintQuery
from connector.api.responses import error_responses
from connector.api.schemas import (
    CallbackBody,
    ConfirmationBody,
    ConnectionView,
    FlowStartData,
    FlowStatusData,
    RejectedData,
)
from connector.domain.models import Scope
from connector.errors import ConnectorError, ErrorCode, InvalidStateError
from connector.services.oauth_flow import CallbackOutcome

_FLOW_ERRORS = (ErrorCode.UPSTREAM_UNAVAILABLE, ErrorCode.INTERNAL_ERROR)


class ConnectController(Controller):
    path = "/connect"
    tags = ["connection"]
    security = SECURITY
    guards = [authenticated, requires(Scope.CONNECT)]
    dependencies = {
        "caller": CALLER,
        "requested_provider": REQUESTED_PROVIDER,
        "provider_name": PROVIDER_NAME,
        "oauth": OAUTH,
        "flows": FLOWS,
    }

    @get(
        operation_id="connect",
        guards=[names_user],
        dependencies={"user_id": USER_ID},
        responses=error_responses(ErrorCode.MISSING_USER_ID, *_FLOW_ERRORS),
    )
    async def connect(
        self,
        *,
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        redirect_uri: Annotated[
            str | None,
            QueryParameter(
                description="Where the browser returns; must be on the allow-list (required "
                "with CONNECTOR_IDENTITY_BINDING=confirm)."
            ),
        ] = None,
        login_hint: LoginHintQuery = None,
        replace: Annotated[
            bool,
            QueryParameter(
                description="Allow a different Cognito account to replace the one this user is "
                "connected to (the old refresh token is revoked). Without it: IDENTITY_MISMATCH."
            ),
        ] = False,
    ) -> ApiResponse[FlowStartData]:
        """Start a flow: send the user's browser to `authUrl` (the Hosted UI of `provider`, PKCE
        S256). The `state` is single-use, expires at `expiresAt` (10 minutes) and remembers the
        provider: one /callback URL serves them all."""
        start = await oauth.flow.start(
            user_id, redirect_uri, key_id=caller.id, login_hint=login_hint, replace=replace
        )
        return ok(FlowStartData.of(start))

    @post(
        "/confirm",
        operation_id="confirmConnect",
        status_code=200,
        guards=[names_user],
        dependencies={"user_id": USER_ID},
        responses=error_responses(
            ErrorCode.MISSING_USER_ID,
            ErrorCode.INVALID_STATE,
            ErrorCode.IDENTITY_MISMATCH,
            *_FLOW_ERRORS,
        ),
    )
    async def confirm(
        self,
        user_id: UserId,
        flows: FlowsDep,
        caller: Caller,
        data: JSONBody[ConfirmationBody],
    ) -> ApiResponse[ConnectionView]:
        """Binding `confirm`: the app's return URL received `status=pending&state=…&confirmation=…`;
        once it has checked that `state` is one it started in this browser session, it confirms
        with its signed-in user in X-User-Id and the API key that started the flow. Same user:
        the connection is stored and returned (`username`/`email` say who signed in). Another
        user: 409 IDENTITY_MISMATCH, nothing stored, the sign-in revoked. Unknown, reused or
        expired (60 s) confirmation, or another key: 400 INVALID_STATE."""
        connection = await flows.confirm(data.confirmation, key_id=caller.id, user_id=user_id)
        return ok(ConnectionView.of(connection))

    @post(
        "/reject",
        operation_id="rejectConnect",
        status_code=200,
        responses=error_responses(ErrorCode.INVALID_STATE, *_FLOW_ERRORS),
    )
    async def reject(
        self, flows: FlowsDep, caller: Caller, data: JSONBody[ConfirmationBody]
    ) -> ApiResponse[RejectedData]:
        """Binding `confirm`: the app has no signed-in user for this sign-in (or its session
        does not know the `state`): the pending sign-in is dropped and revoked at Cognito."""
        await flows.reject(data.confirmation, key_id=caller.id)
        return ok(RejectedData(rejected=True))

    # `state` is a reserved Litestar kwarg: the path parameter is named `flow_state`.
    @get(
        "/status/{flow_state:str}",
        operation_id="getConnectStatus",
        responses=error_responses(ErrorCode.UPSTREAM_UNAVAILABLE),
    )
    async def get_status(
        self, flows: FlowsDep, flow_state: FromPath[str]
    ) -> ApiResponse[FlowStatusData]:
        """`pending`, `pending_confirmation`, `completed`, `failed` or `expired` (unknown states
        read `expired`). Needs the `connect` scope but no X-User-Id: the state itself is the
        capability."""
        status = await flows.status(flow_state)
        return ok(FlowStatusData(state=flow_state, status=status.value))


@dataclass
class BrowserPages(Operation):
    """GET /callback answers a browser with a short HTML page when the flow has no return URL
    (200 connected, 400 refused); a client that accepts only JSON gets the envelopes."""

    def __post_init__(self) -> None:  # (a dataclass, so that its __init__ calls this)
        page = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
        for status in ("200", "400"):
            response = (self.responses or {}).get(status)
            if isinstance(response, OpenAPIResponse):
                response.content = {**(response.content or {}), "text/html": page}


class CallbackController(Controller):
    path = "/callback"
    tags = ["connection"]
    dependencies = {"flows": FLOWS}

    @get(
        operation_id="browserCallback",
        operation_class=BrowserPages,
        responses={
            302: ResponseSpec(
                None,
                description="Back to the app: `status=pending&confirmation=…` (binding "
                "`confirm`), `status=connected`, or `error=<CODE>[&reason=…]`",
            ),
            **error_responses(
                ErrorCode.INVALID_STATE,
                ErrorCode.CALLBACK_FAILED,
                *_FLOW_ERRORS,
                authenticated=False,
            ),
        },
    )
    async def browser_callback(
        self,
        request: Request[Any, Any, Any],
        flows: FlowsDep,
        flow_state: Annotated[str | None, QueryParameter(name="state")] = None,
        code: FromQuery[str | None] = None,
        error: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Where Cognito sends the browser. Redirects (302) to the flow's return URL with
        `status=pending&state=…&confirmation=…` (binding `confirm`: the app confirms next),
        `status=connected&state=…`, or `error=<CODE>&state=…` (`reason=access_denied` when the
        user cancelled); an HTML page when the flow has no return URL; 400 `INVALID_STATE`
        (no redirect) for an unknown or reused state."""
        try:
            outcome = await flows.finish_in_browser(
                flow_state or "", code=code, upstream_error=error
            )
        except InvalidStateError as exc:
            return _refusal(request, exc, "Sign-in link expired", "Start again from the app.")
        return _outcome_response(request, outcome)

    @post(
        operation_id="completeCallback",
        guards=[authenticated, requires(Scope.CONNECT), may_name_user],
        dependencies={
            "caller": CALLER,
            "expected_user": OPTIONAL_USER_ID,
        },
        security=SECURITY,
        status_code=200,
        responses=error_responses(
            ErrorCode.MISSING_USER_ID,
            ErrorCode.INVALID_STATE,
            ErrorCode.IDENTITY_MISMATCH,
            ErrorCode.CALLBACK_FAILED,
            *_FLOW_ERRORS,
        ),
    )
    async def complete_callback(
        self,
        flows: FlowsDep,
        caller: Caller,
        data: JSONBody[CallbackBody],
        expected_user: OptionalUserId,
    ) -> ApiResponse[ConnectionView]:
        """For apps that receive the code themselves: one step. X-User-Id names the app's
        signed-in user, who must be the state's user (required unless the binding is `none`),
        and the key must be the one that started the flow. Any refusal burns the state."""
        connection = await flows.complete(
            data.state, code=data.code, key_id=caller.id, user_id=expected_user
        )
        return ok(ConnectionView.of(connection))


def _outcome_response(request: Request[Any, Any, Any], outcome: CallbackOutcome) -> Response[Any]:
    if outcome.redirect_uri:
        return redirect_back(outcome.redirect_uri, **_result_params(outcome))
    if outcome.error is not None:
        return _refusal(request, outcome.error, "Sign-in failed", "The connection was not made.")
    if accepts_json(request) and outcome.connection is not None:
        return Response(ok(ConnectionView.of(outcome.connection)), headers=NO_LEAK_HEADERS)
    return page("Connected", "You can close this window.", 200)


def _result_params(outcome: CallbackOutcome) -> dict[str, str]:
    """What the app's return URL learns: a confirmation to present, success, or the error
    code (with Cognito's reason, such as `access_denied` for a cancelled sign-in)."""
    if outcome.error is not None:
        params = {"error": str(outcome.error.error_code)}
        reason = outcome.error.details.get("reason")
        if isinstance(reason, str):
            params["reason"] = reason
        return {**params, "state": outcome.state}
    if outcome.confirmation is not None:
        return {"status": "pending", "state": outcome.state, "confirmation": outcome.confirmation}
    return {"status": "connected", "state": outcome.state}


def _refusal(
    request: Request[Any, Any, Any], error: ConnectorError, title: str, message: str
) -> Response[Any]:
    """No trusted return URL: an envelope for JSON clients, a short page for browsers."""
    if accepts_json(request):
        response = envelope_response(error)
        response.headers.update(NO_LEAK_HEADERS)
        return response
    return page(title, message, 400)
