"""No secret in any log line: the whole flow (connect, Hosted UI sign-in, callback, confirm, token,
credentials, S3, Lambda, JSON-RPC) runs through a real `connector dev` at DEBUG, where the
connector, uvicorn, httpx, botocore and the stand-ins all log into one stderr, and none of the
secrets the flow handled appears there, in either output format."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from support.dev_stack import DevStack, running_dev_stack
from support.login_form import parse_login_form

# Loggers whose lines must be in the capture: it proves each of them was really logging there.
EXPECTED_LOGGERS = ("connector", "uvicorn", "httpx", "botocore", "connector.audit")


def run_the_whole_flow(stack: DevStack) -> list[str]:
    """Every secret the flow handled, as the app and the browser saw them."""
    secrets = [stack.api_key, stack.facts["password"]]
    api = stack.api(stack.user_id)
    started = api.get("/connect", params={"redirect_uri": stack.facts["demoReturnUrl"]})
    start = started.json()["data"]
    secrets.append(start["state"])
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        form = parse_login_form(browser.get(start["authUrl"]).text)
        answers = {"username": stack.facts["username"], "password": stack.facts["password"]}
        signed_in = browser.post(
            urljoin(start["authUrl"], form.action), data={**form.fields, **answers}
        )
        callback = signed_in.headers["location"]
        secrets.append(parse_qs(urlsplit(callback).query)["code"][0])
        back = browser.get(callback).headers["location"]
    confirmation = parse_qs(urlsplit(back).query)["confirmation"][0]
    secrets.append(confirmation)
    confirmed = api.post("/connect/confirm", json={"confirmation": confirmation})
    assert confirmed.status_code == 200, confirmed.text

    token = api.get("/token").json()["data"]
    secrets.append(token["accessToken"])
    credentials = api.get("/credentials").json()["data"]
    secrets += [credentials["secretAccessKey"], credentials["sessionToken"]]

    bucket = stack.facts["bucket"]
    put = api.put(f"/s3/buckets/{bucket}/objects/notes/log.txt", content=b"hello")
    assert put.status_code == 200, put.text
    assert api.get(f"/s3/buckets/{bucket}/objects/notes/log.txt").content == b"hello"
    presign = {"bucket": bucket, "key": "notes/log.txt", "method": "GET"}
    presigned = api.post("/s3/presign", json=presign)
    assert presigned.status_code == 200, presigned.text
    secrets.append(urlsplit(presigned.json()["data"]["url"]).query)
    invoked = api.post(f"/lambda/functions/{stack.facts['functionName']}/invoke", json={})
    assert invoked.status_code == 200, invoked.text
    body = base64.b64encode(b"rpc").decode()
    rpc = api.post(
        "/rpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "putObject",
            "params": {"userId": stack.user_id, "bucket": bucket, "key": "rpc.txt", "body": body},
        },
    )
    assert rpc.json()["result"]["success"] is True, rpc.text
    assert_domain_metrics(httpx.get(f"{stack.url}/metrics", timeout=10).text)
    return secrets


def assert_domain_metrics(text: str) -> None:
    """The flow shows in the domain series, parsed with prometheus-client's parser."""
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("connector_credential_mints_total", outcome="ok") >= 1
    assert value("connector_connection_changes_total", status="active") == 1
    assert value("connector_upstream_calls_total", service="s3", code="ok") >= 2
    assert value("connector_upstream_calls_total", service="lambda", code="ok") >= 1
    assert value("connector_upstream_calls_total", service="cognito-oauth", code="ok") >= 1
    assert value("connector_cache_lookups_total", layer="process", kind="creds", result="hit") >= 1


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_no_secret_of_the_whole_flow_reaches_any_log_line_at_debug(
    tmp_path: Path, log_format: str
) -> None:
    encryption_key = Fernet.generate_key().decode()
    settings = {
        "CONNECTOR_LOG_LEVEL": "DEBUG",
        "CONNECTOR_LOG_FORMAT": log_format,
        "CONNECTOR_ENCRYPTION_KEYS": encryption_key,
    }
    with running_dev_stack(tmp_path, settings) as stack:
        secrets = [encryption_key, *run_the_whole_flow(stack)]
        stack.api().get("/health")  # a last line, after the flow's
    text = stack.log.read_text(errors="replace")

    assert len(text) > 100_000, "DEBUG logging of every library was expected"
    leaked = [secret[:12] for secret in secrets if secret and secret in text]
    assert not leaked, f"secrets found in the log (first characters): {leaked}"
    assert "eyJ" not in text  # no JWT of any kind, whoever logged it
    if log_format == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        loggers = {line["logger"] for line in lines}
        for name in EXPECTED_LOGGERS:
            assert any(logger.startswith(name) for logger in loggers), (name, sorted(loggers))
        audited = [line for line in lines if line["logger"] == "connector.audit"]
        assert {line["operation"] for line in audited} >= {
            "confirmConnect",
            "putObject",
            "invokeFunction",
        }
        (presign,) = [line for line in audited if line["operation"] == "presign"]
        assert presign["resource"] == f"{stack.facts['bucket']}/notes/log.txt"
