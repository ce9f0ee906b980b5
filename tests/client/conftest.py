"""Fixtures of the client suites: each unit test runs against both client flavours."""

from __future__ import annotations

import pytest
from connector_client import RetryPolicy
from support.client_harness import NO_JITTER, Answer, FakeConnector, Flavour, MakeFlavour


@pytest.fixture(params=["sync", "async"])
def flavour_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def make_flavour(flavour_kind: str) -> MakeFlavour:
    """`make_flavour(*answers, retry=...)`: a client of the fixture's flavour over a script."""

    def make(*answers: Answer, retry: RetryPolicy = NO_JITTER) -> Flavour:
        return Flavour(flavour_kind, FakeConnector(*answers), retry)

    return make
