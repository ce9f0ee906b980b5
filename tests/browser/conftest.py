"""One `connector dev` per identity-binding mode, shared by every browser test, and Chromium
profiles made on demand (each with its own cookies)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from support.browser import Browser, NewBrowser, chromium, missing_browser
from support.dev_stack import DevStack, running_dev_stack


@pytest.fixture(scope="session")
def chromium_installed() -> None:
    # A missing browser fails the run: CI installs it (scripts/browsers), so must a developer.
    if (reason := missing_browser()) is not None:
        pytest.fail(reason)


@pytest.fixture(scope="session")
def confirm_stack(
    chromium_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevStack]:
    workdir = tmp_path_factory.mktemp("browser-confirm")
    with running_dev_stack(workdir, {"CONNECTOR_IDENTITY_BINDING": "confirm"}) as stack:
        yield stack


@pytest.fixture(scope="session")
def claim_stack(
    chromium_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevStack]:
    workdir = tmp_path_factory.mktemp("browser-claim")
    binding = {"CONNECTOR_IDENTITY_BINDING": "claim:cognito:username"}
    with running_dev_stack(workdir, binding) as stack:
        yield stack


@pytest.fixture
def new_browser(chromium_installed: None) -> Iterator[NewBrowser]:
    """`new_browser(javascript=True)`: another fresh profile, closed after the test."""
    with ExitStack() as profiles:

        def make(*, javascript: bool = True) -> Browser:
            return profiles.enter_context(chromium(javascript=javascript))

        yield make
