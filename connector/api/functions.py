"""Lambda routes: list, describe and invoke functions as the user named by X-User-Id."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from connector.api.aws_schemas import (
    FunctionDetailView,
    FunctionPageData,
    InvokeBody,
    InvokeData,
    view,
)
from connector.api.dependencies import ACTING_FOR_USER, Caller, OAuthDep, UserId
from connector.api.envelope import ApiResponse, ok
from connector.api.guards import SECURITY, authenticated, names_user, requires
from connector.api.parameters import FunctionNamePath, MarkerQuery, MaxItemsQuery
from connector.api.responses import as_user_responses
from connector.domain.models import Scope
from connector.errors import ErrorCode
from connector.services.functions import MAX_ITEMS_DEFAULT


class FunctionController(Controller):
    path = "/lambda/functions"
    tags = ["lambda"]
    security = SECURITY
    guards = [authenticated, names_user]
    dependencies = ACTING_FOR_USER

    @get(
        "/",
        operation_id="listFunctions",
        guards=[requires(Scope.LAMBDA_READ)],
        responses=as_user_responses(ErrorCode.LIST_FUNCTIONS_FAILED),
    )
    async def list_functions(
        self,
        *,
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        marker: MarkerQuery = None,
        max_items: MaxItemsQuery = MAX_ITEMS_DEFAULT,
    ) -> ApiResponse[FunctionPageData]:
        """One page of functions, narrowed to the key's function patterns (so a page may hold
        fewer than `maxItems` while `nextMarker` goes on); pass `nextMarker` back as `marker`."""
        page = await oauth.functions.list_functions(
            caller, user_id, marker=marker, max_items=max_items
        )
        return ok(view(page, FunctionPageData))

    @get(
        "/{name:str}",
        operation_id="getFunction",
        guards=[requires(Scope.LAMBDA_READ)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.GET_FUNCTION_FAILED),
    )
    async def get_function(
        self, *, user_id: UserId, oauth: OAuthDep, caller: Caller, name: FunctionNamePath
    ) -> ApiResponse[FunctionDetailView]:
        """The function's configuration. `name` may be a name, an ARN or name:qualifier."""
        detail = await oauth.functions.get_function(caller, user_id, name)
        return ok(view(detail, FunctionDetailView))

    @post(
        "/{name:str}/invoke",
        operation_id="invokeFunction",
        status_code=200,
        guards=[requires(Scope.LAMBDA_INVOKE)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.INVOKE_LAMBDA_FAILED),
    )
    async def invoke(
        self,
        *,
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        name: FunctionNamePath,
        data: JSONBody[InvokeBody],
    ) -> ApiResponse[InvokeData]:
        """Invoke with `payload` as the event. An error raised by the function is reported in
        `functionError` (with its payload) in a successful answer: the call itself worked.
        `Event` queues the call (statusCode 202, payload null); `logType: Tail` returns the
        last 4 KB of the log in `logResult`."""
        result = await oauth.functions.invoke(
            caller,
            user_id,
            name,
            data.payload,
            invocation_type=data.invocation_type,
            log_type=data.log_type,
        )
        return ok(view(result, InvokeData))
