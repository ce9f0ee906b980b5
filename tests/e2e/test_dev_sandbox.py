"""`connector dev` as a person uses it: start it, read the banner, connect in a browser, stop it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import boto3
import httpx
import pytest
from support.login_form import parse_login_form
from support.servers import answers, free_ports

READY = "CONNECTOR_DEV_READY "
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    facts: dict[str, Any]
    ports: tuple[int, int, int]
    log: Path
    stdout: list[str]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.facts['apiKey']}", "X-User-Id": "demo-user"}

    def aws(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.facts["awsEndpointUrl"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


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
        if line.startswith(READY):
            return json.loads(line[len(READY) :]), seen
    tail = log.read_text(errors="replace")[-4000:]
    pytest.fail(f"no {READY.strip()} line within {START_TIMEOUT:.0f} s; stderr:\n{tail}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    workdir = tmp_path_factory.mktemp("dev")
    connector, cognito, aws = free_ports(3)
    ports = (connector, cognito, aws)
    log = workdir / "dev.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
            [sys.executable, "-m", "connector", "dev",
             "--port", str(ports[0]), "--cognito-port", str(ports[1]),
             "--aws-port", str(ports[2]), "--data-dir", str(workdir / "data")],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=workdir,
            env={**os.environ, "CONNECTOR_LOG_LEVEL": "INFO"},
        )  # fmt: skip
    try:
        facts, stdout = _wait_ready(process, log)
        yield Sandbox(process=process, facts=facts, ports=ports, log=log, stdout=stdout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT)


def test_the_banner_names_every_url_the_user_and_the_key(sandbox: Sandbox) -> None:
    facts, banner = sandbox.facts, "\n".join(sandbox.stdout)
    connector, cognito, aws = (f"http://127.0.0.1:{port}" for port in sandbox.ports)
    assert (facts["connectorUrl"], facts["hostedUiUrl"], facts["awsEndpointUrl"]) == (
        connector,
        cognito,
        aws,
    )
    assert facts["issuer"] == f"{cognito}/{facts['userPoolId']}"
    for value in (connector, cognito, facts["password"], facts["apiKey"], facts["userPoolId"]):
        assert value in banner
    assert f"curl -s {connector}/health" in banner
    assert f'-H "Authorization: Bearer {facts["apiKey"]}" -H "X-User-Id: demo-user"' in banner


def test_health_is_ok(sandbox: Sandbox) -> None:
    response = httpx.get(f"{sandbox.facts['connectorUrl']}/health")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "ok"


def test_the_emulator_holds_the_demo_bucket_user_and_function(sandbox: Sandbox) -> None:
    listed = sandbox.aws("s3").list_objects_v2(Bucket="demo-bucket")
    keys = {item["Key"] for item in listed["Contents"]}
    assert {"hello.txt", "reports/2026/summary.json"} <= keys
    function = sandbox.aws("lambda").get_function(FunctionName="demo-echo")["Configuration"]
    assert function["Runtime"] == "python3.12"
    echoed = sandbox.aws("lambda").invoke(FunctionName="demo-echo", Payload=b'{"ping": 1}')
    assert json.loads(echoed["Payload"].read()) == {"ping": 1}
    user = sandbox.aws("cognito-idp").admin_get_user(
        UserPoolId=sandbox.facts["userPoolId"], Username="demo"
    )
    assert user["UserStatus"] == "CONFIRMED"


def test_the_browser_flow_connects_the_demo_user(sandbox: Sandbox) -> None:
    facts = sandbox.facts
    api = httpx.Client(base_url=facts["connectorUrl"], headers=sandbox.headers(), timeout=10)
    browser = httpx.Client(follow_redirects=False, timeout=10)

    started = api.get("/connect", params={"redirect_uri": facts["demoReturnUrl"]})
    assert started.status_code == 200, started.text
    auth_url, state = started.json()["data"]["authUrl"], started.json()["data"]["state"]
    assert auth_url.startswith(f"{facts['hostedUiUrl']}/oauth2/authorize?")

    login_page = browser.get(auth_url)
    assert login_page.status_code == 200, login_page.text
    form = parse_login_form(login_page.text)
    assert form.action
    assert {"username", "password"} <= set(form.fields)
    fields = {**form.fields, "username": facts["username"], "password": facts["password"]}
    signed_in = browser.post(urljoin(auth_url, form.action), data=fields)
    assert signed_in.status_code == 302, signed_in.text
    callback = signed_in.headers["location"]
    assert callback.startswith(f"{facts['connectorUrl']}/callback?")

    returned = browser.get(callback)
    assert returned.status_code == 302, returned.text
    back = returned.headers["location"]
    assert back.startswith(f"{facts['demoReturnUrl']}?")
    returned = parse_qs(urlsplit(back).query)
    assert (returned["status"], returned["state"]) == (["pending"], [state])
    assert api.get(f"/connect/status/{state}").json()["data"]["status"] == "pending_confirmation"
    # What the app's return URL does: confirm the sign-in for its own signed-in user.
    confirmed = api.post("/connect/confirm", json={"confirmation": returned["confirmation"][0]})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["data"]["username"] == "demo"

    assert api.get(f"/connect/status/{state}").json()["data"]["status"] == "completed"
    connection = api.get("/connection").json()["data"]
    moto_user = sandbox.aws("cognito-idp").admin_get_user(
        UserPoolId=facts["userPoolId"], Username="demo"
    )
    moto_sub = next(a["Value"] for a in moto_user["UserAttributes"] if a["Name"] == "sub")
    assert (connection["status"], connection["username"], connection["email"]) == (
        "active",
        "demo",
        "demo@example.com",
    )
    assert connection["sub"] == moto_sub
    assert api.get("/token").json()["data"]["accessToken"]
    assert api.post("/disconnect").json()["data"] == {"disconnected": True, "revoked": True}


def test_sigterm_stops_everything_within_ten_seconds(sandbox: Sandbox) -> None:
    sandbox.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    returncode = sandbox.process.wait(STOP_TIMEOUT)
    assert time.monotonic() - started < STOP_TIMEOUT
    assert returncode == 0, sandbox.log.read_text(errors="replace")[-4000:]
    assert not any(answers(port) for port in sandbox.ports)
