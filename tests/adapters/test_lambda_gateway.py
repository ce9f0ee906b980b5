"""LambdaGateway against moto (Lambda without Docker: moto echoes the payload back).

moto 5.2.5 ignores ListFunctions' MaxItems/Marker and never reports a FunctionError or a
LogResult, so those answers come from botocore's Stubber on the gateway's own client.
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.config import default_user_config
from support.factories import make_aws_credentials

from connector.adapters.aws_clients import AwsClients
from connector.adapters.lambda_gateway import LambdaGateway
from connector.domain.aws import FunctionSummary
from connector.errors import NotFoundError

REGION = "us-east-1"
NO_DOCKER = {"lambda": {"use_docker": False}}
CREDS = make_aws_credentials()


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _create_functions(*names: str) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="connector-test", AssumeRolePolicyDocument="{}")["Role"]
    admin = boto3.client("lambda", region_name=REGION)
    for name in names:
        admin.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Arn"],
            Handler="index.handler",
            Code={"ZipFile": _code()},
            Description=f"the {name} function",
            MemorySize=256,
            Timeout=10,
        )


@pytest.fixture
def no_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)


@pytest.fixture
def gateway(no_endpoint_override: None) -> Iterator[LambdaGateway]:
    with mock_aws(config=NO_DOCKER):
        _create_functions("alpha", "beta")
        clients = AwsClients(region=REGION)
        yield LambdaGateway(clients)
        clients.close()


@pytest.fixture
def stubbed(no_endpoint_override: None) -> Iterator[tuple[LambdaGateway, Stubber]]:
    """The gateway with its client (the one cached for CREDS) answering from a Stubber."""
    with mock_aws():  # belt and braces: nothing may reach AWS even if a stub is missing
        clients = AwsClients(region=REGION)
        with Stubber(clients.client("lambda", CREDS)) as stub:
            yield LambdaGateway(clients), stub
            stub.assert_no_pending_responses()
        clients.close()


async def test_list_functions_returns_each_functions_summary(gateway: LambdaGateway) -> None:
    page = await gateway.list_functions(CREDS)
    assert [f.name for f in page.functions] == ["alpha", "beta"]
    alpha = page.functions[0]
    assert alpha.arn == "arn:aws:lambda:us-east-1:123456789012:function:alpha"
    assert (alpha.runtime, alpha.handler) == ("python3.12", "index.handler")
    assert (alpha.description, alpha.memory_size, alpha.timeout) == ("the alpha function", 256, 10)
    assert alpha.last_modified is not None
    assert alpha.last_modified.utcoffset() == timedelta(0)
    assert page.next_marker is None


def _config(name: str) -> dict[str, Any]:
    return {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
    }


async def test_list_functions_pages_with_max_items_and_the_marker(
    stubbed: tuple[LambdaGateway, Stubber],
) -> None:
    gateway, stub = stubbed
    stub.add_response(
        "list_functions", {"Functions": [_config("alpha")], "NextMarker": "m1"}, {"MaxItems": 1}
    )
    stub.add_response(
        "list_functions", {"Functions": [_config("beta")]}, {"MaxItems": 1, "Marker": "m1"}
    )
    first = await gateway.list_functions(CREDS, max_items=1)
    assert ([f.name for f in first.functions], first.next_marker) == (["alpha"], "m1")
    second = await gateway.list_functions(CREDS, marker="m1", max_items=1)
    assert ([f.name for f in second.functions], second.next_marker) == (["beta"], None)
    assert second.functions[0] == FunctionSummary(
        name="beta",
        arn="arn:aws:lambda:us-east-1:123456789012:function:beta",
        runtime=None,
        handler=None,
        description=None,
        memory_size=None,
        timeout=None,
        last_modified=None,
    )


async def test_get_function_returns_the_configuration_with_role_state_and_code_size(
    gateway: LambdaGateway,
) -> None:
    detail = await gateway.get_function(CREDS, "alpha")
    assert (detail.name, detail.runtime, detail.memory_size) == ("alpha", "python3.12", 256)
    assert detail.role == "arn:aws:iam::123456789012:role/connector-test"
    assert detail.state == "Active"
    assert detail.code_size == len(_code())


async def test_a_partial_arn_is_sent_as_the_full_arn_of_this_region(
    gateway: LambdaGateway,
) -> None:
    detail = await gateway.get_function(CREDS, "123456789012:function:alpha")
    assert detail.name == "alpha"


async def test_a_function_arn_of_another_region_is_not_found(gateway: LambdaGateway) -> None:
    with pytest.raises(NotFoundError):
        await gateway.get_function(CREDS, "arn:aws:lambda:eu-west-1:123456789012:function:alpha")


async def test_a_missing_function_is_not_found_with_the_upstream_code(
    gateway: LambdaGateway,
) -> None:
    with pytest.raises(NotFoundError) as raised:
        await gateway.get_function(CREDS, "absent")
    assert raised.value.details["upstreamCode"] == "ResourceNotFoundException"


async def test_invoking_a_missing_function_is_not_found(
    no_endpoint_override: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto's Docker-less backend answers 200 for any name; its default backend checks the
    # function exists before it would need Docker. The setting is process-wide (a moto server
    # in this process may have turned Docker off), so it is set here explicitly.
    monkeypatch.setitem(default_user_config, "lambda", {"use_docker": True})
    with mock_aws():
        clients = AwsClients(region=REGION)
        try:
            with pytest.raises(NotFoundError) as raised:
                await LambdaGateway(clients).invoke(CREDS, "absent", b"{}")
        finally:
            clients.close()
    assert raised.value.details["upstreamCode"] == "ResourceNotFoundException"


async def test_a_request_response_invocation_returns_the_parsed_payload(
    gateway: LambdaGateway,
) -> None:
    result = await gateway.invoke(CREDS, "alpha", json.dumps({"order": 42}).encode())
    assert result.status_code == 200
    assert result.payload == {"order": 42}
    assert (result.function_error, result.log_result) == (None, None)


async def test_an_event_invocation_is_accepted_with_no_payload(gateway: LambdaGateway) -> None:
    result = await gateway.invoke(CREDS, "alpha", b'{"order": 42}', invocation_type="Event")
    assert (result.status_code, result.payload) == (202, None)


async def test_a_function_error_is_reported_in_the_result_with_the_decoded_log(
    stubbed: tuple[LambdaGateway, Stubber],
) -> None:
    gateway, stub = stubbed
    error = json.dumps({"errorMessage": "boom", "errorType": "ValueError"}).encode()
    log_tail = "START RequestId: 1\nValueError: boom\nEND RequestId: 1\n"
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "LogResult": base64.b64encode(log_tail.encode()).decode(),
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(error), len(error)),
        },
        {
            "FunctionName": "alpha",
            "Payload": b"{}",
            "InvocationType": "RequestResponse",
            "LogType": "Tail",
        },
    )
    result = await gateway.invoke(CREDS, "alpha", b"{}", log_type="Tail")
    assert result.status_code == 200
    assert result.function_error == "Unhandled"
    assert result.payload == {"errorMessage": "boom", "errorType": "ValueError"}
    assert result.log_result == log_tail
    assert result.executed_version == "$LATEST"


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (b"", None),
        (b"  \n", None),
        (b"not json", "not json"),
        # Too deep to decode, or to encode again into the answer: kept as text.
        (b"[" * 100_000, "[" * 100_000),
        (b"[" * 900 + b"]" * 900, "[" * 900 + "]" * 900),
    ],
)
async def test_an_empty_payload_is_none_and_a_non_json_one_is_text(
    stubbed: tuple[LambdaGateway, Stubber], body: bytes, parsed: Any
) -> None:
    gateway, stub = stubbed
    stub.add_response(
        "invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
    )
    result = await gateway.invoke(CREDS, "alpha", b"")
    assert result.payload == parsed
