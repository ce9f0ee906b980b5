"""Lambda as the user: list and describe functions, invoke them, within the key's policy."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from connector.domain.aws import FunctionDetail, FunctionPage, InvokeResult
from connector.domain.aws_names import function_name_of
from connector.domain.models import ApiKey
from connector.domain.ports import FunctionRuntime
from connector.errors import ValidationError
from connector.services.access import function_allowed, require_function
from connector.services.acting import ActingAsUser
from connector.services.limits import require_between

MAX_ITEMS, MAX_ITEMS_DEFAULT = 10_000, 50  # Lambda's own bounds (it sends at most 50 a page)
MARKER_MAX = 4096
INVOCATION_TYPES = ("RequestResponse", "Event")
LOG_TYPES = ("None", "Tail")


class FunctionService:
    """Scope, name and the key's function policy are checked before any AWS call. Policies
    match the bare function name, whether the caller sends a name, an ARN or a qualifier."""

    def __init__(self, *, acting: ActingAsUser, runtime: FunctionRuntime) -> None:
        self._acting = acting
        self._runtime = runtime

    async def list_functions(
        self,
        caller: ApiKey,
        user_id: str,
        *,
        marker: str | None = None,
        max_items: int = MAX_ITEMS_DEFAULT,
    ) -> FunctionPage:
        """One page of the functions the key's policy covers. Filtering happens after Lambda
        pages, so a page may hold fewer than `max_items` while `next_marker` goes on."""
        require_between(max_items, 1, MAX_ITEMS, field="maxItems")
        if marker is not None and not 1 <= len(marker) <= MARKER_MAX:
            raise ValidationError("marker is not one Lambda issued", details={"field": "marker"})
        page = await self._acting.call(
            caller,
            user_id,
            lambda creds: self._runtime.list_functions(creds, marker=marker, max_items=max_items),
        )
        visible = tuple(f for f in page.functions if function_allowed(caller, f.name))
        return msgspec.structs.replace(page, functions=visible)

    async def get_function(self, caller: ApiKey, user_id: str, name: str) -> FunctionDetail:
        """The function's configuration."""
        _authorize(caller, name)
        return await self._acting.call(
            caller, user_id, lambda creds: self._runtime.get_function(creds, name)
        )

    async def invoke(
        self,
        caller: ApiKey,
        user_id: str,
        name: str,
        payload: Any,
        *,
        invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse",
        log_type: Literal["None", "Tail"] = "None",
    ) -> InvokeResult:
        """Invoke with `payload` (any JSON value) as the event. An error raised by the
        function is in the result's `function_error`, not raised."""
        _authorize(caller, name)
        if invocation_type not in INVOCATION_TYPES:
            raise ValidationError(
                "invocationType: RequestResponse or Event", details={"field": "invocationType"}
            )
        if log_type not in LOG_TYPES:
            raise ValidationError("logType: None or Tail", details={"field": "logType"})
        try:
            event = msgspec.json.encode(payload)
        except (TypeError, msgspec.EncodeError):
            raise ValidationError(
                "payload: must be a JSON value", details={"field": "payload"}
            ) from None
        return await self._acting.call(
            caller,
            user_id,
            lambda creds: self._runtime.invoke(
                creds, name, event, invocation_type=invocation_type, log_type=log_type
            ),
        )


def _authorize(caller: ApiKey, name: str) -> None:
    """The key's function policy (its scope was checked by the transport)."""
    require_function(caller, function_name_of(name))
