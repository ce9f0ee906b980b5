"""A live `connector dev` process (connector, moto, the Hosted UI stand-in, the demo app) on free
ports, and a scripted browser that signs the demo user in through the stand-in's login form."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from connector_client import ConnectorClient

from connector.sandbox.banner import READY_MARKER
from support.login_form import parse_login_form
from support.servers import free_ports

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class DevStack:
    """The running process and what it printed: the banner, then the ready line's facts
    (camelCase keys, as printed)."""

    process: subprocess.Popen[str]
    facts: dict[str, Any]
    ports: tuple[int, int, int, int]
    """connector, Hosted UI, AWS emulator, demo app."""
    stdout: list[str]
    log: Path

    @property
    def url(self) -> str:
        return str(self.facts["connectorUrl"])

    @property
    def app_url(self) -> str:
        return str(self.facts["demoAppUrl"])

    @property
    def api_key(self) -> str:
        return str(self.facts["apiKey"])

    @property
    def user_id(self) -> str:
        return str(self.facts["userId"])

    def api(self, user: str | None = None) -> httpx.Client:
        """The connector's HTTP API with the demo key (and `X-User-Id: user`)."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if user is not None:
            headers["X-User-Id"] = user
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def stand_in_stats(self) -> dict[str, Any]:
        """The Hosted UI stand-in's counters (see docs/hosted-ui-stand-in.md)."""
        stats: dict[str, Any] = httpx.get(f"{self.facts['hostedUiUrl']}/_sandbox/stats").json()
        return stats


def dev_environment(settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any CONNECTOR_* (`connector dev` honours those), plus
    `settings`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    return {**inherited, "CONNECTOR_LOG_LEVEL": "INFO", **(settings or {})}


@contextmanager
def running_dev_stack(
    workdir: Path, settings: Mapping[str, str] | None = None
) -> Iterator[DevStack]:
    """`connector dev` until the block ends; fails with its log when it is not ready in time."""
    connector, cognito, aws, app = free_ports(4)
    log = workdir / "dev.log"
    command = [
        *(sys.executable, "-m", "connector", "dev", "--data-dir", str(workdir / "data")),
        *("--port", str(connector), "--cognito-port", str(cognito), "--aws-port", str(aws)),
        *("--app-port", str(app)),
    ]
    with log.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=workdir,
            env=dev_environment(settings),
        )
    try:
        facts, stdout = _wait_ready(process, log)
        yield DevStack(process, facts, (connector, cognito, aws, app), stdout, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _wait_ready(process: subprocess.Popen[str], log: Path) -> tuple[dict[str, Any], list[str]]:
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith(READY_MARKER):
            facts: dict[str, Any] = json.loads(line.removeprefix(READY_MARKER))
            return facts, seen
    process.kill()
    tail = log.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"connector dev printed no {READY_MARKER} line in time; stderr:\n{tail}")


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
