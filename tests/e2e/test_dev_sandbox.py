"""`connector dev` as a person uses it: start it, read the banner, connect as an app does, use the
env file beside it, stop it."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import boto3
import httpx
import pytest
from support.dev_stack import STOP_TIMEOUT, DevStack, dev_environment, running_dev_stack
from support.login_form import parse_login_form
from support.servers import answers, free_ports

ELSEWHERE = "http://127.0.0.1:9/elsewhere"
"""A return URL of the developer's own, given in CONNECTOR_REDIRECT_ALLOWLIST."""
DEVELOPER_SETTINGS = {
    "CONNECTOR_REDIRECT_ALLOWLIST": ELSEWHERE,
    "CONNECTOR_OAUTH_SCOPES": "openid email",
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with running_dev_stack(tmp_path_factory.mktemp("dev"), DEVELOPER_SETTINGS) as stack:
        yield stack


def _aws(stack: DevStack, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.facts["awsEndpointUrl"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_banner_starts_with_the_demo_app_and_names_every_url_the_user_and_the_key(
    sandbox: DevStack,
) -> None:
    facts, banner = sandbox.facts, "\n".join(sandbox.stdout)
    connector, cognito, aws, app = (f"http://127.0.0.1:{port}" for port in sandbox.ports)
    assert (facts["connectorUrl"], facts["hostedUiUrl"], facts["awsEndpointUrl"]) == (
        connector,
        cognito,
        aws,
    )
    assert facts["demoAppUrl"] == app
    assert facts["issuer"] == f"{cognito}/{facts['userPoolId']}"
    first_url = next(line for line in sandbox.stdout if "http://" in line)
    assert first_url.split()[:3] == ["Demo", "app", app]
    for value in (connector, cognito, facts["password"], facts["apiKey"], facts["userPoolId"]):
        assert value in banner
    assert f"curl -s {connector}/health" in banner
    assert f'-H "Authorization: Bearer {facts["apiKey"]}" -H "X-User-Id: demo-user"' in banner
    assert facts["keysCommand"] in banner
    assert "CONNECTOR_OAUTH_SCOPES, CONNECTOR_REDIRECT_ALLOWLIST (from the environment)" in banner


def test_health_is_ok_and_the_demo_app_answers(sandbox: DevStack) -> None:
    response = httpx.get(f"{sandbox.url}/health")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "ok"
    page = httpx.get(sandbox.app_url)
    assert page.status_code == 200
    assert 'id="user-demo-user"' in page.text


def test_the_emulator_holds_the_demo_bucket_user_and_function(sandbox: DevStack) -> None:
    listed = _aws(sandbox, "s3").list_objects_v2(Bucket="demo-bucket")
    keys = {item["Key"] for item in listed["Contents"]}
    assert {"hello.txt", "reports/2026/summary.json"} <= keys
    function = _aws(sandbox, "lambda").get_function(FunctionName="demo-echo")["Configuration"]
    assert function["Runtime"] == "python3.12"
    echoed = _aws(sandbox, "lambda").invoke(FunctionName="demo-echo", Payload=b'{"ping": 1}')
    assert json.loads(echoed["Payload"].read()) == {"ping": 1}
    user = _aws(sandbox, "cognito-idp").admin_get_user(
        UserPoolId=sandbox.facts["userPoolId"], Username="demo"
    )
    assert user["UserStatus"] == "CONFIRMED"


def test_the_developers_settings_win_and_the_allow_list_keeps_both_return_urls(
    sandbox: DevStack,
) -> None:
    with sandbox.api(sandbox.user_id) as api:
        for return_url in (ELSEWHERE, f"{sandbox.app_url}/return", sandbox.facts["demoReturnUrl"]):
            started = api.get("/connect", params={"redirect_uri": return_url})
            assert started.status_code == 200, (return_url, started.text)
        refused = api.get("/connect", params={"redirect_uri": "http://127.0.0.1:9/other"})
    assert refused.json()["code"] == "VALIDATION_ERROR"
    auth_url = started.json()["data"]["authUrl"]
    assert parse_qs(urlsplit(auth_url).query)["scope"] == ["openid email"]


def test_the_env_file_lets_the_cli_beside_it_reach_the_same_database(sandbox: DevStack) -> None:
    env_file = sandbox.facts["envFile"]
    assert stat.S_IMODE(Path(env_file).stat().st_mode) == 0o600

    listed = subprocess.run(  # noqa: S603 - the command the banner prints, run as printed
        ["/bin/bash", "-c", sandbox.facts["keysCommand"]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert listed.returncode == 0, listed.stderr
    keys = {key["name"]: key for key in json.loads(listed.stdout)}
    assert keys[sandbox.facts["apiKeyName"]]["revokedAt"] is None
    defined = subprocess.run(  # noqa: S603 - sourcing the file defines what the README uses
        ["/bin/bash", "-c", f'set -a; . "{env_file}"; set +a; echo "$CONNECTOR_URL $KEY"'],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert defined.stdout.split() == [sandbox.url, sandbox.api_key]
    assert "CONNECTOR_PUBLIC_URL" not in Path(env_file).read_text(encoding="utf-8")


def test_an_app_connects_the_demo_user_by_confirming_the_grant(sandbox: DevStack) -> None:
    facts = sandbox.facts
    with (
        sandbox.api(sandbox.user_id) as api,
        httpx.Client(follow_redirects=False, timeout=10) as browser,
    ):
        started = api.get("/connect", params={"redirect_uri": facts["demoReturnUrl"]})
        assert started.status_code == 200, started.text
        auth_url, state = started.json()["data"]["authUrl"], started.json()["data"]["state"]
        assert auth_url.startswith(f"{facts['hostedUiUrl']}/oauth2/authorize?")

        login_page = browser.get(auth_url)
        assert login_page.status_code == 200, login_page.text
        form = parse_login_form(login_page.text)
        fields = {**form.fields, "username": facts["username"], "password": facts["password"]}
        signed_in = browser.post(urljoin(auth_url, form.action), data=fields)
        assert signed_in.status_code == 302, signed_in.text
        callback = signed_in.headers["location"]
        assert callback.startswith(f"{facts['connectorUrl']}/callback?")

        returned = browser.get(callback)
        assert returned.status_code == 302, returned.text
        assert returned.headers["referrer-policy"] == "no-referrer"
        back = returned.headers["location"]
        assert back.startswith(f"{facts['demoReturnUrl']}?")
        query = parse_qs(urlsplit(back).query)
        assert (query["status"], query["state"]) == (["pending"], [state])
        page = browser.get(back)
        assert page.status_code == 200
        assert query["confirmation"][0] in page.text
        assert api.get("/connection").json()["code"] == "NOT_CONNECTED"
        flow = api.get(f"/connect/status/{state}").json()["data"]
        assert flow["status"] == "pending_confirmation"

        confirmed = api.post("/connect/confirm", json={"confirmation": query["confirmation"][0]})
        assert confirmed.status_code == 200, confirmed.text
        connection = confirmed.json()["data"]
        moto_user = _aws(sandbox, "cognito-idp").admin_get_user(
            UserPoolId=facts["userPoolId"], Username="demo"
        )
        moto_sub = next(a["Value"] for a in moto_user["UserAttributes"] if a["Name"] == "sub")
        assert (connection["status"], connection["username"], connection["email"]) == (
            "active",
            "demo",
            "demo@example.com",
        )
        assert connection["sub"] == moto_sub
        assert api.get("/connection").json()["data"]["sub"] == moto_sub
        assert api.get(f"/connect/status/{state}").json()["data"]["status"] == "completed"
        assert api.get("/token").json()["data"]["accessToken"]
        assert api.post("/disconnect").json()["data"] == {"disconnected": True, "revoked": True}


def _connect_and_confirm(
    api: httpx.Client, browser: httpx.Client, facts: dict[str, Any], provider: str | None
) -> dict[str, Any]:
    """The demo user through one provider's Hosted UI domain, confirmed as the app does."""
    who = facts if provider is None else facts["partner"]
    params = {"redirect_uri": facts["demoReturnUrl"]}
    if provider is not None:
        params["provider"] = provider
    started = api.get("/connect", params=params)
    assert started.status_code == 200, started.text
    auth_url = started.json()["data"]["authUrl"]
    assert auth_url.startswith(f"{who['hostedUiUrl']}/oauth2/authorize?")
    form = parse_login_form(browser.get(auth_url).text)
    fields = {**form.fields, "username": who["username"], "password": who["password"]}
    signed_in = browser.post(urljoin(auth_url, form.action), data=fields)
    assert signed_in.status_code == 302, signed_in.text
    callback = signed_in.headers["location"]
    assert callback.startswith(f"{facts['connectorUrl']}/callback?")  # one callback for both
    back = browser.get(callback).headers["location"]
    confirmation = parse_qs(urlsplit(back).query)["confirmation"][0]
    confirmed = api.post("/connect/confirm", json={"confirmation": confirmation})
    assert confirmed.status_code == 200, confirmed.text
    view: dict[str, Any] = confirmed.json()["data"]
    return view


def test_the_demo_user_connects_to_both_providers_each_with_its_own_identity(
    sandbox: DevStack,
) -> None:
    facts = sandbox.facts
    partner = facts["partner"]
    cognito_port = sandbox.ports[1]
    assert partner["hostedUiUrl"] == f"http://localhost:{cognito_port}"
    assert partner["issuer"] == f"{partner['hostedUiUrl']}/{partner['userPoolId']}"
    with (
        sandbox.api(sandbox.user_id) as api,
        httpx.Client(follow_redirects=False, timeout=10) as browser,
    ):
        default = _connect_and_confirm(api, browser, facts, None)
        other = _connect_and_confirm(api, browser, facts, "partner")
        assert default["sub"] != other["sub"]
        views = api.get("/connections").json()["data"]["connections"]
        assert [(v["provider"], v["sub"]) for v in views] == [
            ("default", default["sub"]),
            ("partner", other["sub"]),
        ]
        ids = {
            name: api.get("/credentials", params=params).json()["data"]["identityId"]
            for name, params in (("default", {}), ("partner", {"provider": "partner"}))
        }
        identity = _aws(sandbox, "cognito-identity")
        for name, pool in (
            ("default", facts["identityPoolId"]),
            ("partner", partner["identityPoolId"]),
        ):
            listed = identity.list_identities(IdentityPoolId=pool, MaxResults=10)["Identities"]
            assert [i["IdentityId"] for i in listed] == [ids[name]]

        gone = api.post("/disconnect", params={"provider": "partner"})
        assert gone.json()["data"] == {"disconnected": True, "revoked": True}
        assert api.get("/s3/buckets").status_code == 200
        assert [v["provider"] for v in api.get("/connections").json()["data"]["connections"]] == [
            "default"
        ]
        assert api.post("/disconnect").json()["data"]["disconnected"] is True


def test_a_taken_demo_app_port_stops_the_start_with_one_line(tmp_path: Path) -> None:
    connector, cognito, aws = free_ports(3)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app_port = taken.getsockname()[1]
        started = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "connector", "dev", "--data-dir", str(tmp_path),
             "--port", str(connector), "--cognito-port", str(cognito), "--aws-port", str(aws),
             "--app-port", str(app_port)],
            capture_output=True, text=True, timeout=60, check=False, env=dev_environment(),
        )  # fmt: skip
    assert started.returncode == 2
    assert f"--app-port: port {app_port} on 127.0.0.1 is in use" in started.stderr
    assert not any(answers(port) for port in (connector, cognito, aws))


def test_sigterm_stops_everything_within_ten_seconds(sandbox: DevStack) -> None:
    sandbox.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    returncode = sandbox.process.wait(STOP_TIMEOUT)
    assert time.monotonic() - started < STOP_TIMEOUT
    assert returncode == 0, sandbox.log.read_text(errors="replace")[-4000:]
    assert not any(answers(port) for port in sandbox.ports)
