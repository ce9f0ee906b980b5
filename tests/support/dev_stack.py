"""A live `connector dev` process (connector + moto + Hosted UI stand-in) on free ports, and a
scripted browser that signs its demo user in through the stand-in's login form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from connector.client import ConnectorClient
from connector.sandbox.banner import READY_MARKER
from support.login_form import parse_login_form
from support.servers import free_ports

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class DevStack:
    """What `connector dev` printed on its ready line (camelCase keys, as printed)."""

    facts: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.facts["connectorUrl"])

    @property
    def api_key(self) -> str:
        return str(self.facts["apiKey"])

    @property
    def user_id(self) -> str:
        return str(self.facts["userId"])


@contextmanager
def running_dev_stack(workdir: Path) -> Iterator[DevStack]:
    """`connector dev` until the block ends; fails with its log when it is not ready in time."""
    connector, cognito, aws = free_ports(3)
    log = workdir / "dev.log"
    command = [
        *(sys.executable, "-m", "connector", "dev", "--data-dir", str(workdir / "data")),
        *("--port", str(connector), "--cognito-port", str(cognito), "--aws-port", str(aws)),
    ]
    with log.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=workdir, env=os.environ
        )
    try:
        yield DevStack(_ready_facts(process, log))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _ready_facts(process: subprocess.Popen[str], log: Path) -> dict[str, Any]:
    # A blocked readline ends when the watchdog kills a process that never gets ready.
    watchdog = threading.Timer(START_TIMEOUT, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_MARKER):
                facts: dict[str, Any] = json.loads(line.removeprefix(READY_MARKER))
                return facts
    finally:
        watchdog.cancel()
    raise RuntimeError(f"connector dev did not get ready:\n{log.read_text()[-4000:]}")


def sign_in(stack: DevStack, client: ConnectorClient) -> None:
    """The demo user's browser: /connect, the stand-in's form, the callback, back to the app."""
    started = client.connect(stack.user_id, stack.facts["demoReturnUrl"])
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        form = parse_login_form(browser.get(started.auth_url).text)
        answers = {"username": stack.facts["username"], "password": stack.facts["password"]}
        signed_in = browser.post(
            urljoin(started.auth_url, form.action), data={**form.fields, **answers}
        )
        back = browser.get(signed_in.headers["location"]).headers["location"]
    returned = parse_qs(urlsplit(back).query)
    assert returned["status"] == ["pending"], back
    assert returned["state"] == [started.state]
    # The app's return URL: its session started this state, so it confirms for its user.
    client.confirm_connect(stack.user_id, returned["confirmation"][0])
    assert client.connect_status(started.state).status == "completed"
