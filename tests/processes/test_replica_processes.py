"""Replicas as real processes: two `connector serve` processes and one `--workers 2`, on the real
PostgreSQL (a database of their own) and Redis (a prefix of their own). What one process changes,
every other process sees within the documented bound; a refresh and a credential mint happen
once for all of them (counted at the Hosted UI stand-in and at moto, which every process calls
over HTTP)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support.serve_processes import ProcessWorld, Replica, process_world, start_replica

from connector.sandbox.hosted_ui import KeySet
from connector.services.process_layer import CONNECTION_TTL, KEY_TTL

# Short access tokens: their mandatory refresh window (the last sixth) opens 10 s after issue.
ACCESS_TOKEN_TTL = 12
MANDATORY_AFTER = ACCESS_TOKEN_TTL * 5 / 6
# One poll of every process answers within this (separate connections, a loaded machine).
POLL_SLACK = 2.0
FAN_OUT = 8  # requests per process, each on a connection of its own (so both workers of
# `--workers 2` take some: the kernel hands each new connection to one of them)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessWorld]:
    with process_world(
        tmp_path_factory.mktemp("processes"), KeySet.generate(), access_token_ttl=ACCESS_TOKEN_TTL
    ) as made:
        start_replica(made, "a")
        start_replica(made, "b")
        start_replica(made, "w", workers=2)
        yield made


def headers(key: str, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-User-Id": user}


def fan_out(
    replicas: list[Replica], path: str, head: dict[str, str], per_replica: int = FAN_OUT
) -> list[httpx.Response]:
    """`per_replica` GETs to each replica at once, each on a new connection."""

    def one(replica: Replica) -> httpx.Response:
        return httpx.get(f"{replica.url}{path}", headers=head, timeout=30)

    with ThreadPoolExecutor(max_workers=len(replicas) * per_replica) as pool:
        return list(pool.map(one, [r for r in replicas for _ in range(per_replica)]))


def until_all(
    replicas: list[Replica],
    path: str,
    head: dict[str, str],
    accept: Callable[[httpx.Response], bool],
    *,
    within: float,
) -> float:
    """Poll every replica until each answer passes `accept`; the seconds it took."""
    start = time.monotonic()
    while True:
        answers = fan_out(replicas, path, head)
        if all(accept(a) for a in answers):
            return time.monotonic() - start
        if time.monotonic() - start > within:
            codes = sorted({(a.status_code, str(code(a))) for a in answers})
            pytest.fail(f"not every process agreed within {within} s: {codes}")
        time.sleep(0.1)


def code(response: httpx.Response) -> str | None:
    found = response.json().get("code")
    return str(found) if found is not None else None


def test_a_disconnect_on_one_process_is_seen_by_every_other_process_through_the_bus(
    world: ProcessWorld,
) -> None:
    a, b, w = world.replicas
    key = world.create_key("invalidation", "connect", "connection:read")
    world.connect(a, key, "u-invalidate")
    warmed_at = time.monotonic()
    warm = fan_out([b, w], "/connection", headers(key, "u-invalidate"))
    assert [r.status_code for r in warm] == [200] * len(warm), warm[0].text

    with a.client(headers(key, "u-invalidate")) as api:
        assert api.post("/disconnect").status_code == 200

    until_all(
        [b, w],
        "/connection",
        headers(key, "u-invalidate"),
        lambda r: r.status_code == 404 and code(r) == "NOT_CONNECTED",
        within=CONNECTION_TTL,
    )
    # Seen before the entries' own TTL ran out: the announcement evicted them, not time.
    assert time.monotonic() - warmed_at < CONNECTION_TTL + POLL_SLACK


def test_a_key_revoked_by_the_cli_process_is_refused_by_every_process_within_the_bound(
    world: ProcessWorld,
) -> None:
    key = world.create_key("to-revoke", "connection:read")
    warm = fan_out(world.replicas, "/connection", headers(key, "nobody"))
    assert {code(r) for r in warm} == {"NOT_CONNECTED"}  # the key was accepted, and is held

    revoked = world.cli("keys", "revoke", "to-revoke")
    assert revoked.returncode == 0, revoked.stderr
    took = until_all(
        world.replicas,
        "/connection",
        headers(key, "nobody"),
        lambda r: r.status_code == 401,
        within=max(1.0, KEY_TTL) + POLL_SLACK,
    )
    assert took <= max(1.0, KEY_TTL) + POLL_SLACK
    again = fan_out(world.replicas, "/connection", headers(key, "nobody"))
    assert {r.status_code for r in again} == {401}


def test_an_expiring_token_is_refreshed_once_for_all_processes(world: ProcessWorld) -> None:
    a = world.replicas[0]
    key = world.create_key("refresh", "connect", "token:read")
    world.connect(a, key, "u-refresh")
    connected_at = time.monotonic()
    before = world.hosted_ui.stats.refresh_grants
    time.sleep(max(0.0, connected_at + MANDATORY_AFTER + 0.5 - time.monotonic()))

    answers = fan_out(world.replicas, "/token", headers(key, "u-refresh"), per_replica=6)

    assert [r.status_code for r in answers] == [200] * len(answers), answers[0].text
    assert world.hosted_ui.stats.refresh_grants - before == 1
    assert len({r.json()["data"]["accessToken"] for r in answers}) == 1


def test_credentials_are_minted_once_for_all_processes(world: ProcessWorld) -> None:
    a = world.replicas[0]
    key = world.create_key("mint", "connect", "s3:read")
    world.connect(a, key, "u-mint")
    before = world.moto.calls.copy()

    answers = fan_out(world.replicas, "/s3/buckets", headers(key, "u-mint"), per_replica=6)

    assert [r.status_code for r in answers] == [200] * len(answers), answers[0].text
    assert world.moto.calls["GetId"] - before["GetId"] == 1
    minted = world.moto.calls["GetCredentialsForIdentity"] - before["GetCredentialsForIdentity"]
    assert minted == 1
