"""Lambda on boto3 as the user: list and describe functions, invoke them."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from connector.adapters.aws_clients import AwsClients
from connector.adapters.aws_errors import translated
from connector.domain.aws import (
    AwsCredentials,
    FunctionDetail,
    FunctionPage,
    FunctionSummary,
    InvokeResult,
)
from connector.domain.aws_names import function_region_of, partial_arn_account_of
from connector.domain.json_depth import nests_deeper_than
from connector.errors import ErrorCode, NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

T = TypeVar("T")

# Fractions beyond microseconds are cut (Python keeps six digits).
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)")


class LambdaGateway:
    """Every Lambda call the services make, signed with the user's own credentials."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    async def list_functions(
        self, creds: AwsCredentials, *, marker: str | None = None, max_items: int = 50
    ) -> FunctionPage:
        """One page of ListFunctions and the marker of the next one."""
        paging: dict[str, Any] = {"MaxItems": max_items}
        if marker:
            paging["Marker"] = marker
        client = self._lambda(creds)
        with translated(ErrorCode.LIST_FUNCTIONS_FAILED):
            answer = await self._clients.run(client.list_functions, **paging)
        return FunctionPage(
            functions=tuple(
                FunctionSummary(**_summary(config)) for config in answer.get("Functions", [])
            ),
            next_marker=answer.get("NextMarker"),
        )

    async def get_function(self, creds: AwsCredentials, name: str) -> FunctionDetail:
        """The function's configuration (GetFunction; the code location is dropped)."""
        client = self._lambda(creds)
        with translated(ErrorCode.GET_FUNCTION_FAILED):
            answer = await self._clients.run(
                client.get_function, FunctionName=self._reachable(name)
            )
        config = answer.get("Configuration", {})
        return FunctionDetail(
            **_summary(config),
            role=config.get("Role"),
            state=config.get("State"),
            code_size=config.get("CodeSize"),
        )

    async def invoke(
        self,
        creds: AwsCredentials,
        name: str,
        payload: bytes,
        *,
        invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse",
        log_type: Literal["None", "Tail"] = "None",
    ) -> InvokeResult:
        """Invoke the function. An error raised *by the function* is in `function_error` (and
        its payload), not raised: the call itself succeeded."""
        client = self._lambda(creds)
        with translated(ErrorCode.INVOKE_LAMBDA_FAILED):
            answer = await self._clients.run(
                _invoke,
                client,
                FunctionName=self._reachable(name),
                Payload=payload,
                InvocationType=invocation_type,
                LogType=log_type,
            )
        body: bytes = answer.pop("Body")
        # An asynchronous invocation queues the event; AWS answers 202 with no payload.
        returned = None if invocation_type == "Event" else _parse(body)
        return InvokeResult(
            status_code=answer.get("StatusCode", 0),
            payload=returned,
            function_error=answer.get("FunctionError"),
            log_result=_decode_log(answer.get("LogResult")),
            executed_version=answer.get("ExecutedVersion"),
        )

    def _reachable(self, name: str) -> str:
        """The identifier to send. An ARN of another region is not found here: a client of one
        region cannot reach it. A partial ARN (`ACCOUNT:function:NAME`) goes as the full ARN it
        stands for in this region, which Lambda takes alike (and the emulator understands)."""
        region = self._clients.region
        named = function_region_of(name)
        if named is not None and named != region:
            raise NotFoundError(f"no such function in {region}", details={"field": "name"})
        if partial_arn_account_of(name) is not None:
            return f"arn:{self._clients.partition}:lambda:{region}:{name}"
        return name

    def _lambda(self, creds: AwsCredentials) -> LambdaClient:
        # Each method looks the client up (or builds it) in the worker thread of its call.
        client: LambdaClient = self._clients.in_pool("lambda", creds)  # type: ignore[assignment]
        return client


def _invoke(client: LambdaClient, **params: Any) -> dict[str, Any]:
    """Invoke and read the (at most 6 MB) response payload in the same worker thread."""
    answer: dict[str, Any] = dict(client.invoke(**params))
    stream = answer.pop("Payload", None)
    if stream is None:
        return {**answer, "Body": b""}
    with contextlib.closing(stream):
        return {**answer, "Body": stream.read()}


def _summary(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": config.get("FunctionName", ""),
        "arn": config.get("FunctionArn", ""),
        "runtime": config.get("Runtime"),
        "handler": config.get("Handler"),
        "description": config.get("Description"),
        "memory_size": config.get("MemorySize"),
        "timeout": config.get("Timeout"),
        "last_modified": _timestamp(config.get("LastModified")),
    }


def _timestamp(value: str | None) -> datetime | None:
    """Lambda's `2024-01-31T12:00:00.000+0000` (or any ISO-8601 variant with up to nanoseconds)
    as an aware UTC datetime; None when absent or unreadable."""
    matched = _ISO_TIME.fullmatch(value or "")
    if matched is None:
        return None
    moment, fraction, offset = matched.groups()
    offset = "+00:00" if offset == "Z" else offset
    try:
        parsed = datetime.fromisoformat(f"{moment}{(fraction or '')[:7]}{offset}")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def _parse(body: bytes) -> Any:
    """The payload as JSON; a body that is not JSON, or nests deeper than the API's JSON
    (which neither decoder nor encoder could recurse through), is returned as text."""
    if not body.strip():
        return None
    if nests_deeper_than(body):
        return body.decode("utf-8", errors="replace")
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


def _decode_log(log_result: str | None) -> str | None:
    """LogResult is the base64 tail (last 4 KB) of the execution log."""
    if not log_result:
        return None
    try:
        return base64.b64decode(log_result, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return None
