"""A client generated from /schema/openapi.json by openapi-python-client works against a live
`connector dev`: connect status, the connection, a listing, an object up and down as bytes."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from support.dev_stack import DevStack

PACKAGE = "generated_connector_client"


@pytest.fixture(scope="module")
def generated(
    connected_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The package openapi-python-client writes from the live document, importable."""
    root = tmp_path_factory.mktemp("generated")
    document = root / "openapi.json"
    document.write_bytes(httpx.get(f"{connected_stack.url}/schema/openapi.json").content)
    command = [
        str(Path(sys.executable).with_name("openapi-python-client")),
        *("generate", "--path", str(document), "--meta", "none"),
        *("--output-path", str(root / PACKAGE)),
    ]
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert run.returncode == 0, run.stdout + run.stderr
    # Its only warnings are about post-generation hooks (ruff) this machine does not run.
    warnings = [line for line in run.stdout.splitlines() if "Warning" in line or "Unable" in line]
    assert all("some pieces may be missing" in line for line in warnings), run.stdout
    assert "Unable to" not in run.stdout, run.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


@pytest.fixture
def client(generated: ModuleType, connected_stack: DevStack) -> Iterator[Any]:
    with generated.AuthenticatedClient(
        base_url=connected_stack.url, token=connected_stack.api_key
    ) as authenticated:
        yield authenticated


def test_the_generated_client_reads_the_connect_status_of_a_flow_it_started(
    client: Any, connected_stack: DevStack
) -> None:
    started = _api("connection.connect").sync(
        client=client,
        x_user_id=connected_stack.user_id,
        redirect_uri=connected_stack.facts["demoReturnUrl"],
    )
    assert started.success is True
    assert started.data.auth_url.startswith(connected_stack.facts["hostedUiUrl"])
    status = _api("connection.get_connect_status").sync(started.data.state, client=client)
    assert (status.data.state, status.data.status.value) == (started.data.state, "pending")


def test_the_generated_client_reads_the_connection(client: Any, connected_stack: DevStack) -> None:
    answer = _api("connection.get_connection").sync(
        client=client, x_user_id=connected_stack.user_id
    )
    assert answer.data.user_id == connected_stack.user_id
    assert answer.data.status.value == "active"


def test_the_generated_client_lists_objects(client: Any, connected_stack: DevStack) -> None:
    answer = _api("s3.list_objects").sync(
        connected_stack.facts["bucket"], client=client, x_user_id=connected_stack.user_id
    )
    keys = {item.key for item in answer.data.objects}
    assert set(connected_stack.facts["objects"]) <= keys


def test_the_generated_client_puts_and_gets_an_object_as_bytes(
    generated: ModuleType, client: Any, connected_stack: DevStack
) -> None:
    bucket, user, body = connected_stack.facts["bucket"], connected_stack.user_id, bytes(range(256))
    upload = generated.types.File(payload=BytesIO(body), mime_type="application/octet-stream")
    stored = _api("s3.put_object").sync(
        bucket, "generated/bytes.bin", client=client, body=upload, x_user_id=user
    )
    assert (stored.success, stored.data.key) == (True, "generated/bytes.bin")
    downloaded = _api("s3.get_object").sync(
        bucket, "generated/bytes.bin", client=client, x_user_id=user
    )
    assert downloaded.payload.read() == body
    ranged = _api("s3.get_object").sync_detailed(
        bucket, "generated/bytes.bin", client=client, x_user_id=user, range_="bytes=0-9"
    )
    assert (ranged.status_code, ranged.parsed.payload.read()) == (206, body[:10])


def test_the_generated_client_reads_a_failure_as_its_typed_code(
    client: Any, connected_stack: DevStack
) -> None:
    missing = _api("s3.get_object").sync(
        connected_stack.facts["bucket"], "no/such/key", client=client, x_user_id="demo-user"
    )
    assert missing.success is False
    assert missing.code.value == "NOT_FOUND"
