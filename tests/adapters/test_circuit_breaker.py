"""CircuitBreaker: closed until a failure, open for an interval, then one probe at a time."""

from __future__ import annotations

import pytest

from connector.adapters.circuit_breaker import Admission, CircuitBreaker

INTERVAL = 2.0


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(INTERVAL, monotonic=clock)


def test_a_closed_breaker_lets_every_call_through(breaker: CircuitBreaker) -> None:
    assert [breaker.admit() for _ in range(3)] == [Admission.CALL] * 3
    assert not breaker.is_open


def test_after_a_failure_calls_are_refused_until_the_interval_has_passed(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    breaker.failed()
    clock.now += INTERVAL - 0.01

    assert breaker.admit() is Admission.REFUSED
    assert breaker.is_open
    clock.now += 0.01
    assert breaker.admit() is Admission.PROBE


def test_only_one_probe_runs_and_its_success_closes_the_breaker(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    breaker.failed()
    clock.now += INTERVAL

    assert breaker.admit() is Admission.PROBE
    assert breaker.admit() is Admission.REFUSED  # the probe is still out
    breaker.succeeded()
    assert breaker.admit() is Admission.CALL
    assert not breaker.is_open


def test_a_failed_probe_opens_the_breaker_for_another_full_interval(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    breaker.failed()
    clock.now += 10 * INTERVAL
    assert breaker.admit() is Admission.PROBE

    breaker.failed()

    assert breaker.admit() is Admission.REFUSED
    clock.now += INTERVAL
    assert breaker.admit() is Admission.PROBE


def test_an_abandoned_probe_hands_its_turn_to_the_next_call(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    breaker.failed()
    clock.now += INTERVAL
    probe = breaker.admit()

    breaker.abandoned(Admission.REFUSED)  # a refused call ending changes nothing
    assert breaker.admit() is Admission.REFUSED
    breaker.abandoned(probe)
    assert breaker.admit() is Admission.PROBE


def test_a_zero_interval_probes_on_every_call_after_a_failure(clock: ManualClock) -> None:
    breaker = CircuitBreaker(0.0, monotonic=clock)
    breaker.failed()

    assert breaker.admit() is Admission.PROBE
    breaker.failed()
    assert breaker.admit() is Admission.PROBE


def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        CircuitBreaker(-1.0)
