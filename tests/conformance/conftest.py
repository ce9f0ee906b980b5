"""One live `connector dev` (connector, AWS emulator, Hosted UI stand-in, demo app) on free ports,
its demo user signed in, shared by the conformance suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connector_client import ConnectorClient
from support.dev_stack import DevStack, running_dev_stack, sign_in


@pytest.fixture(scope="session")
def connected_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with running_dev_stack(tmp_path_factory.mktemp("conformance")) as stack:
        with ConnectorClient(stack.url, stack.api_key) as client:
            sign_in(stack, client)
        yield stack
