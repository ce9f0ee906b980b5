"""Requests as the contract wants them, and answers decoded: data into Structs, every failure
envelope into its own exception class."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from connector_client import (
    ConnectorClientError,
    ConnectorUnreachableError,
    ErrorCode,
    IdentityMismatchError,
    NotConnectedError,
    OperationFailedError,
    ReauthRequiredError,
    UnexpectedResponseError,
)
from connector_client.errors import error_class
from connector_client.models import Connection, InvokeResult
from support.client_harness import API_KEY, CONNECTION, MakeFlavour, ok, refusal

from connector.api.envelope import STATUS_BY_CODE


def test_a_user_scoped_call_sends_the_key_and_the_user_and_decodes_the_data(
    make_flavour: MakeFlavour,
) -> None:
    flavour = make_flavour(ok({**CONNECTION, "addedLater": 1}))
    connection = flavour.run(lambda client: client.get_connection("alice"))
    assert isinstance(connection, Connection)
    assert connection.expires_at == datetime(2026, 11, 21, 18, 48, 0, 896698, tzinfo=UTC)
    assert (connection.identity_id, connection.scopes) == (None, ["openid", "email"])
    request = flavour.fake.last
    assert (request.method, request.url.path) == ("GET", "/connection")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-user-id"] == "alice"


def test_a_call_for_no_user_sends_no_user_header(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(ok({"state": "s t", "status": "pending"}))
    status = flavour.run(lambda client: client.connect_status("s t"))
    assert status.status == "pending"
    assert "x-user-id" not in flavour.fake.last.headers
    assert flavour.fake.last.url.raw_path == b"/connect/status/s%20t"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_raises_its_own_exception_class(
    make_flavour: MakeFlavour, code: ErrorCode
) -> None:
    details = {"operation": "LIST_BUCKETS", "upstreamCode": "X", "retryable": False}
    flavour = make_flavour(refusal(code, details=details))
    with pytest.raises(ConnectorClientError) as raised:
        flavour.run(lambda client: client.list_buckets("alice"))
    error = raised.value
    assert type(error) is error_class(code.value)
    assert type(error).error_code is code
    assert (error.code, error.status, error.details) == (code, STATUS_BY_CODE[code], details)
    assert error.message == f"refused: {code.value}"
    assert isinstance(error, OperationFailedError) == code.value.endswith("_FAILED")
    assert not error.retryable
    assert len(flavour.fake.requests) == 1


def test_the_codes_named_by_the_issue_have_their_classes() -> None:
    assert error_class("NOT_CONNECTED") is NotConnectedError
    assert error_class("REAUTH_REQUIRED") is ReauthRequiredError


def test_a_code_this_client_does_not_know_still_raises_with_the_code(
    make_flavour: MakeFlavour,
) -> None:
    newer = httpx.Response(
        418, json={"success": False, "error": "new", "code": "SOMETHING_NEW", "timestamp": 1}
    )
    with pytest.raises(ConnectorClientError) as raised:
        make_flavour(newer).run(lambda client: client.list_buckets("alice"))
    assert type(raised.value) is ConnectorClientError
    assert (raised.value.code, raised.value.status) == ("SOMETHING_NEW", 418)


def test_an_answer_without_an_envelope_is_an_unexpected_response(
    make_flavour: MakeFlavour,
) -> None:
    page = httpx.Response(502, text="<html>bad gateway</html>")
    with pytest.raises(UnexpectedResponseError) as raised:
        make_flavour(page).run(lambda client: client.list_buckets("alice"))
    assert (raised.value.code, raised.value.status) == (None, 502)


def test_a_success_of_the_wrong_shape_is_an_unexpected_response(
    make_flavour: MakeFlavour,
) -> None:
    with pytest.raises(UnexpectedResponseError, match="Connection"):
        make_flavour(ok({"userId": "alice"})).run(lambda client: client.get_connection("alice"))


def test_no_answer_at_all_is_connector_unreachable(make_flavour: MakeFlavour) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ConnectorUnreachableError, match="ConnectError") as raised:
        make_flavour(refuse).run(lambda client: client.health())
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    ("key", "raw_path"),
    [
        ("plain.txt", b"/s3/buckets/bkt/objects/plain.txt"),
        ("dir/a b/ü.json", b"/s3/buckets/bkt/objects/dir/a%20b/%C3%BC.json"),
        ("q?x#y%z", b"/s3/buckets/bkt/objects/q%3Fx%23y%25z"),
        ("a/../b/./c", b"/s3/buckets/bkt/objects/a/%2E%2E/b/%2E/c"),
    ],
)
def test_object_keys_travel_in_the_path_unchanged(
    make_flavour: MakeFlavour, key: str, raw_path: bytes
) -> None:
    flavour = make_flavour(ok({"deleted": True}))
    flavour.run(lambda client: client.delete_object("alice", "bkt", key))
    assert (flavour.fake.last.method, flavour.fake.last.url.raw_path) == ("DELETE", raw_path)


def test_listing_parameters_use_the_wire_names_and_unset_ones_are_left_out(
    make_flavour: MakeFlavour,
) -> None:
    page = {"objects": [], "commonPrefixes": ["a/"], "isTruncated": False}
    flavour = make_flavour(ok({**page, "nextContinuationToken": None}))
    listed = flavour.run(lambda client: client.list_objects("alice", "bkt", max_keys=5))
    assert listed.common_prefixes == ["a/"]
    assert dict(flavour.fake.last.url.params) == {"maxKeys": "5"}


def test_invoke_sends_the_payload_and_returns_the_result(make_flavour: MakeFlavour) -> None:
    answer: dict[str, Any] = {
        "statusCode": 200,
        "payload": {"echo": [1]},
        "functionError": "Unhandled",
        "logResult": None,
        "executedVersion": "$LATEST",
    }
    flavour = make_flavour(ok(answer))
    result = flavour.run(
        lambda client: client.invoke("alice", "arn:aws:lambda:f:1", [1], log_type="Tail")
    )
    assert result == InvokeResult(
        status_code=200,
        payload={"echo": [1]},
        function_error="Unhandled",
        log_result=None,
        executed_version="$LATEST",
    )
    request = flavour.fake.last
    assert request.url.raw_path == b"/lambda/functions/arn:aws:lambda:f:1/invoke"
    assert request.headers["content-type"] == "application/json"
    assert httpx.Response(200, content=flavour.fake.bodies[-1]).json() == {
        "payload": [1],
        "invocationType": "RequestResponse",
        "logType": "Tail",
    }


def test_presign_posts_the_wire_body(make_flavour: MakeFlavour) -> None:
    signed = {"url": "http://s3/x?sig", "method": "PUT", "expiresAt": "2026-11-21T18:00:00Z"}
    flavour = make_flavour(ok(signed))
    presigned = flavour.run(
        lambda client: client.presign("alice", "bkt", "k", method="PUT", expires_in=60)
    )
    assert presigned.url == "http://s3/x?sig"
    assert httpx.Response(200, content=flavour.fake.bodies[-1]).json() == {
        "bucket": "bkt",
        "key": "k",
        "method": "PUT",
        "expiresIn": 60,
    }


def test_confirm_connect_sends_the_confirmation_for_the_user_once(
    make_flavour: MakeFlavour,
) -> None:
    flavour = make_flavour(ok(CONNECTION))
    connection = flavour.run(lambda client: client.confirm_connect("alice", "c" * 43))
    assert isinstance(connection, Connection)
    request = flavour.fake.last
    assert (request.method, request.url.path) == ("POST", "/connect/confirm")
    assert request.headers["x-user-id"] == "alice"
    assert json.loads(request.content) == {"confirmation": "c" * 43}


def test_an_identity_mismatch_is_never_retried(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(refusal(ErrorCode.IDENTITY_MISMATCH), ok(CONNECTION))
    with pytest.raises(IdentityMismatchError):
        flavour.run(lambda client: client.confirm_connect("alice", "c" * 43))
    assert len(flavour.fake.requests) == 1


def test_reject_connect_names_no_user_and_connect_sends_the_new_parameters(
    make_flavour: MakeFlavour,
) -> None:
    flavour = make_flavour(ok({"rejected": True}))
    assert flavour.run(lambda client: client.reject_connect("c" * 43)).rejected is True
    assert "x-user-id" not in flavour.fake.last.headers
    start = {"authUrl": "https://idp/x", "state": "s" * 43, "expiresAt": "2026-12-04T18:00:00Z"}
    flavour = make_flavour(ok(start))
    flavour.run(
        lambda client: client.connect(
            "alice", "https://app/done", login_hint="alice@example.com", replace=True
        )
    )
    params = flavour.fake.last.url.params
    assert (params["loginHint"], params["replace"]) == ("alice@example.com", "true")
    assert params["redirect_uri"] == "https://app/done"
