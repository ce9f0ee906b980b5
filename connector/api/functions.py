"""Lambda routes: list, describe and invoke functions as the user named by X-User-Id."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from connector.api import operations
from connector.api.aws_schemas import (
    FunctionDetailView,
    FunctionPageData,
    InvokeBody,
    InvokeData,
)
from connector.api.envelope import ApiResponse, ok
from connector.api.responses import AS_USER
from connector.api.security import Caller, ServicesDep, UserId, acting_for_user
from connector.domain.models import Scope
from connector.errors import ErrorCode

MAX_ITEMS_DOC = "1 to 10000 (Lambda sends at most 50)"


class FunctionController(Controller):
    path = "/lambda/functions"
    tags = ["lambda"]

    @get(
        "/",
        operation_id="listFunctions",
        **acting_for_user(Scope.LAMBDA_READ, *AS_USER, ErrorCode.LIST_FUNCTIONS_FAILED),
    )
    async def list_functions(
        self,
        *,
        services: ServicesDep,
        caller: Caller,
        user_id: UserId,
        marker: FromQuery[str | None] = None,
        max_items: Annotated[
            int, QueryParameter(name="maxItems", description="1 to 10000 (Lambda sends at most 50)")
        ] = 50,
    ) -> ApiResponse[FunctionPageData]:
        """One page of functions, narrowed to the key's function patterns (so a page may hold
        fewer than `maxItems` while `nextMarker` goes on); pass `nextMarker` back as `marker`."""
        page = await operations.list_functions(
            services, caller, user_id, marker=marker, max_items=max_items
        )
        return ok(page)

    @get(
        "/{name:str}",
        operation_id="getFunction",
        **acting_for_user(
            Scope.LAMBDA_READ, *AS_USER, ErrorCode.NOT_FOUND, ErrorCode.GET_FUNCTION_FAILED
        ),
    )
    async def get_function(
        self, *, services: ServicesDep, caller: Caller, user_id: UserId, name: FromPath[str]
    ) -> ApiResponse[FunctionDetailView]:
        """The function's configuration. `name` may be a name, an ARN or name:qualifier."""
        return ok(await operations.get_function(services, caller, user_id, name))

    @post(
        "/{name:str}/invoke",
        operation_id="invokeFunction",
        status_code=200,
        **acting_for_user(
            Scope.LAMBDA_INVOKE, *AS_USER, ErrorCode.NOT_FOUND, ErrorCode.INVOKE_LAMBDA_FAILED
        ),
    )
    async def invoke(
        self,
        *,
        services: ServicesDep,
        caller: Caller,
        user_id: UserId,
        name: FromPath[str],
        data: JSONBody[InvokeBody],
    ) -> ApiResponse[InvokeData]:
        """Invoke with `payload` as the event. An error raised by the function is reported in
        `functionError` (with its payload) in a successful answer: the call itself worked.
        `Event` queues the call (statusCode 202, payload null); `logType: Tail` returns the
        last 4 KB of the log in `logResult`."""
        result = await operations.invoke(
            services,
            caller,
            user_id,
            name,
            data.payload,
            invocation_type=data.invocation_type,
            log_type=data.log_type,
        )
        return ok(result)
