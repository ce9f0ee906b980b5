"""A replica SIGKILLed mid-delivery: two `connector serve` processes share one PostgreSQL database
(of their own) and one webhook endpoint, a receiver here that verifies every delivery with the
`standardwebhooks` library. The receiver holds the first delivery open; the process that sent it
(found by its socket) is killed with SIGKILL while it waits. Its lease runs out and the other
process delivers the event: at least once, never zero times, always with the same webhook-id."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.serve_processes import ProcessWorld, pid_of_peer, process_world, start_replica
from support.webhook_receiver import SECRET, Receiver, running_receiver

from connector.sandbox.hosted_ui import KeySet

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds the sending process through /proc"
)

TIMEOUT = 4  # one attempt; the held one must outlive the kill (seconds)
LEASE = 6  # > TIMEOUT: the killed replica's claim holds the event this long
ARRIVAL = 15.0  # the event reaches the receiver after a connect (a poll a second, loaded box)
REDELIVERED = LEASE + 10.0  # after the kill: the lease, then the next poll and the POST


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def world(tmp_path: Path, receiver: Receiver) -> Iterator[ProcessWorld]:
    with process_world(tmp_path, KeySet.generate()) as made:
        made.environment.update(
            {
                "CONNECTOR_WEBHOOK_URL": receiver.url,
                "CONNECTOR_WEBHOOK_SECRET": SECRET,
                "CONNECTOR_WEBHOOK_TIMEOUT": str(TIMEOUT),
                "CONNECTOR_WEBHOOK_LEASE": str(LEASE),
            }
        )
        start_replica(made, "a")
        start_replica(made, "b")
        yield made


def wait_for(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {within} s")
        time.sleep(0.02)


def test_an_event_whose_replica_is_killed_mid_delivery_is_delivered_by_the_other(
    world: ProcessWorld, receiver: Receiver
) -> None:
    receiver_port = urlsplit(receiver.url).port
    assert receiver_port is not None
    pids = {replica.process.pid: replica for replica in world.replicas}
    key = world.create_key("hooks", "connect")

    receiver.hold.set()  # the first delivery is held open: its sender waits for an answer
    world.connect(world.replicas[0], key, "u-killed")  # connection.created, in the outbox
    wait_for(receiver.arrived.is_set, ARRIVAL, "the event never reached the receiver")
    held_at, held_port = receiver.arrivals[0]
    sender = pid_of_peer(held_port, receiver_port, list(pids))
    assert sender is not None, f"no replica holds the socket from port {held_port}"
    dying = pids[sender]
    (surviving,) = [r for r in world.replicas if r is not dying]

    os.kill(dying.process.pid, signal.SIGKILL)  # the real process, mid-delivery
    dying.process.wait(5)
    killed_at = time.monotonic()
    assert killed_at - held_at < TIMEOUT  # before its attempt could have ended
    assert dying.process.returncode == -signal.SIGKILL
    receiver.hold.clear()  # from now on the receiver answers 200 at once

    wait_for(
        lambda: any(d.arrived_at > killed_at for d in receiver.deliveries),
        REDELIVERED,
        f"{surviving.name} never delivered the event:\n{surviving.log_tail()}",
    )
    after = [d for d in receiver.deliveries if d.arrived_at > killed_at]
    # Only the surviving process is alive: it sent these, once the killed one's lease ran out
    # (claimed just before the held delivery arrived, for LEASE seconds).
    assert surviving.process.poll() is None
    assert all(d.client_port != held_port for d in after)
    assert after[0].arrived_at - held_at >= LEASE - 1.0
    assert len(after) >= 1
    assert all(d.verified and d.status == 200 for d in after)
    # Every delivery, the held one included, is the same event, signed and verified.
    assert all(d.verified for d in receiver.deliveries)
    (webhook_id,) = {d.webhook_id for d in receiver.deliveries}
    assert {d.payload["type"] for d in receiver.deliveries} == {"connection.created"}
    assert {d.payload["data"]["userId"] for d in receiver.deliveries} == {"u-killed"}

    # The store of record: one record, delivered, on the surviving process's only attempt (the
    # killed one wrote nothing: no outcome, no attempt).
    listed = world.cli("webhooks", "list")
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert record["eventId"] == webhook_id
    assert record["type"] == "connection.created"
    assert (record["status"], record["attempts"]) == ("delivered", 1), record
