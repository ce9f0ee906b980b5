"""`requires_connection`: the guarded function runs only for a user with an active connection;
otherwise a ConnectionRequiredError carries the reason and the URL to connect at."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from connector_client import ConnectionRequiredError, ErrorCode, ForbiddenError, requires_connection
from support.client_harness import (
    CONNECTION,
    NO_JITTER,
    FakeConnector,
    Flavour,
    MakeFlavour,
    ok,
    refusal,
)

RETURN_URL = "https://app.example/connected"
STARTED = {
    "authUrl": "https://auth.example/oauth2/authorize?state=s1",
    "state": "s1",
    "expiresAt": "2026-11-21T18:00:00Z",
}


def guarded(flavour: Flavour) -> Any:
    """A service function `report(title, user_id)`, guarded with the flavour's client."""
    guard = requires_connection(flavour.client, redirect_uri=RETURN_URL)
    if flavour.kind == "sync":

        def report(title: str, user_id: str) -> str:
            return f"{title} for {user_id}"

        return guard(report)

    async def report_async(title: str, user_id: str) -> str:
        return f"{title} for {user_id}"

    return guard(report_async)


def test_an_active_connection_lets_the_function_run(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(ok(CONNECTION))
    report = guarded(flavour)
    assert flavour.run(lambda _: report("totals", user_id="alice")) == "totals for alice"
    assert flavour.run(lambda _: report("totals", "alice")) == "totals for alice"
    assert [r.url.path for r in flavour.fake.requests] == ["/connection", "/connection"]
    assert {r.headers["x-user-id"] for r in flavour.fake.requests} == {"alice"}


def test_a_user_without_a_connection_gets_a_connect_url(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(refusal(ErrorCode.NOT_CONNECTED), ok(STARTED))
    report = guarded(flavour)
    with pytest.raises(ConnectionRequiredError) as raised:
        flavour.run(lambda _: report("totals", "bob"))
    error = raised.value
    assert (error.code, error.connect_url, error.state) == (
        ErrorCode.NOT_CONNECTED,
        STARTED["authUrl"],
        "s1",
    )
    connect = flavour.fake.last
    assert (connect.url.path, connect.headers["x-user-id"]) == ("/connect", "bob")
    assert connect.url.params["redirect_uri"] == RETURN_URL


def test_a_connection_that_needs_a_new_sign_in_is_reauth_required(
    make_flavour: MakeFlavour,
) -> None:
    flavour = make_flavour(ok({**CONNECTION, "status": "reauth_required"}), ok(STARTED))
    with pytest.raises(ConnectionRequiredError) as raised:
        flavour.run(lambda _: guarded(flavour)("totals", "alice"))
    assert raised.value.code == ErrorCode.REAUTH_REQUIRED


def test_other_failures_of_the_check_pass_through(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(refusal(ErrorCode.FORBIDDEN))
    with pytest.raises(ForbiddenError):
        flavour.run(lambda _: guarded(flavour)("totals", "alice"))
    assert len(flavour.fake.requests) == 1


def test_a_flavour_mismatch_or_a_missing_argument_fails_at_decoration() -> None:
    sync = Flavour("sync", FakeConnector(httpx.Response(500)), NO_JITTER)
    aio = Flavour("async", FakeConnector(httpx.Response(500)), NO_JITTER)

    async def coroutine(user_id: str) -> None:
        return None

    def plain(user_id: str) -> None:
        return None

    with pytest.raises(TypeError, match="AsyncConnectorClient"):
        requires_connection(sync.client)(coroutine)
    with pytest.raises(TypeError, match="coroutine"):
        requires_connection(aio.client)(plain)
    with pytest.raises(TypeError, match="'account'"):
        requires_connection(sync.client, user_id_arg="account")(plain)
