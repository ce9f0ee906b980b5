"""Request ids and the request's log line: a valid X-Request-Id is kept and echoed, anything else
replaced by a new one; the line names the route template, key, user, status and duration; an
operation acting for a user writes one audit event."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.factories import KeyMaker
from support.log_lines import json_lines


async def test_a_valid_incoming_request_id_is_kept_and_returned(client: httpx.AsyncClient) -> None:
    answer = await client.get("/health", headers={"X-Request-Id": "trace-0123456789"})
    assert answer.headers["x-request-id"] == "trace-0123456789"


@pytest.mark.parametrize("incoming", [None, "short", "has spaces in it", "x" * 129, "a/b/c/d/e/f"])
async def test_a_missing_or_invalid_request_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient, incoming: str | None
) -> None:
    headers = {"X-Request-Id": incoming} if incoming is not None else {}
    first = (await client.get("/health", headers=headers)).headers["x-request-id"]
    second = (await client.get("/health", headers=headers)).headers["x-request-id"]
    assert first != second
    assert len(first) == 32
    assert int(first, 16) >= 0


async def test_the_request_line_and_audit_event_name_route_key_user_and_outcome(
    client: httpx.AsyncClient, make_key: KeyMaker, caplog: pytest.LogCaptureFixture
) -> None:
    key = await make_key("auditor")
    caplog.set_level(logging.INFO)
    headers = {
        "Authorization": f"Bearer {key}",
        "X-User-Id": "alice",
        "X-Request-Id": "req-12345678",
    }
    answer = await client.get("/connection", headers=headers)
    assert answer.status_code == 404

    (line,) = [r for r in caplog.records if r.name == "connector.request"]
    assert line.getMessage() == "GET /connection 404"
    assert line.__dict__["status"] == 404
    assert line.__dict__["duration_ms"] >= 0
    (event,) = [r for r in caplog.records if r.name == "connector.audit"]
    assert event.__dict__["operation"] == "getConnection"
    assert event.__dict__["user_id"] == "alice"
    assert event.__dict__["outcome"] == "NOT_CONNECTED"
    assert event.__dict__["key_name"] == "auditor"
    assert event.__dict__["key_id"] in key
    assert key not in caplog.text


async def test_a_request_acting_for_nobody_writes_no_audit_event(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await client.get("/health")
    assert not [r for r in caplog.records if r.name == "connector.audit"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/route", 404),
        ("POST", "/s3/nowhere", 404),
        ("DELETE", "/health", 405),
        ("PUT", "/connections", 405),
    ],
)
async def test_answers_given_before_any_route_runs_carry_a_request_id_and_a_request_line(
    client: httpx.AsyncClient,
    request_lines: list[dict[str, Any]],
    method: str,
    path: str,
    status: int,
) -> None:
    answer = await client.request(method, path)
    assert answer.status_code == status
    request_id = answer.headers["x-request-id"]
    assert len(request_id) == 32
    (line,) = request_lines
    assert line["message"] == f"{method} <unrouted> {status}"
    assert line["status"] == status
    assert line["request_id"] == request_id
    assert "route" not in line  # no route matched, and the raw path is not one


async def test_a_valid_incoming_request_id_is_echoed_on_a_404(
    client: httpx.AsyncClient, request_lines: list[dict[str, Any]]
) -> None:
    answer = await client.get("/no/such/route", headers={"X-Request-Id": "trace-404-abcdef"})
    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"
    assert answer.headers["x-request-id"] == "trace-404-abcdef"
    (line,) = request_lines
    assert line["request_id"] == "trace-404-abcdef"


async def test_a_routed_answer_carries_one_request_id_and_its_route_template(
    client: httpx.AsyncClient, request_lines: list[dict[str, Any]]
) -> None:
    answer = await client.get("/connect/status/some-state")
    (request_id,) = answer.headers.get_list("x-request-id")
    (line,) = request_lines
    assert line["route"] == "/connect/status/{flow_state}"
    assert line["request_id"] == request_id


@pytest.fixture
def request_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON lines of `connector.request` while the test runs."""
    with json_lines("connector.request") as lines:
        yield lines
