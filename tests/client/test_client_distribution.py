"""`connector-client` is its own distribution: built from clients/python, it installs into a
fresh virtual environment with httpx and msgspec only (boto3 an extra) and works there without
the server (no Litestar, SQLAlchemy, redis, asyncpg, nor the `connector` package itself)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from connector_client import ErrorCode as ClientErrorCode

from connector.errors import ErrorCode as ServerErrorCode

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"litestar", "sqlalchemy", "redis", "asyncpg", "boto3", "botocore", "connector"}
# The client against a scripted connector (httpx's MockTransport): a real call, no server.
PROBE = """
import json, sys, httpx
from connector_client import ConnectorClient, NotConnectedError

def answer(request):
    assert request.headers["x-user-id"] == "alice"
    if request.url.path == "/s3/buckets":
        data = {"buckets": [{"name": "b", "creationDate": None}]}
        return httpx.Response(200, json={"success": True, "data": data, "timestamp": 1})
    failure = {"success": False, "error": "no", "code": "NOT_CONNECTED", "timestamp": 1}
    return httpx.Response(404, json=failure)

with ConnectorClient("http://c.test", "ck_key", transport=httpx.MockTransport(answer)) as client:
    names = [bucket.name for bucket in client.s3("alice").list_buckets()]
    try:
        client.get_connection("alice")
    except NotConnectedError as error:
        refused = str(error.code)
try:
    import connector
    server = True
except ModuleNotFoundError:
    server = False
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"names": names, "refused": refused, "server": server, "loaded": loaded}))
"""


def _uv(*arguments: str) -> subprocess.CompletedProcess[str]:
    uv = shutil.which("uv")
    assert uv is not None, "uv is on PATH (scripts/uv-bootstrap.sh puts it there)"
    return subprocess.run(  # noqa: S603 - uv with fixed arguments
        [uv, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _uv("build", "--package", "connector-client", "--wheel", "--out-dir", str(out), "--quiet")
    (built,) = out.glob("connector_client-*.whl")
    return built


def test_the_wheel_holds_the_client_alone_and_names_httpx_msgspec_and_a_boto3_extra(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    packages = {name.split("/")[0] for name in names if not name.startswith("connector_client-")}
    assert packages == {"connector_client"}
    assert "connector_client/py.typed" in names
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert sorted(r.split()[1].split(">")[0].split("<")[0] for r in requires) == [
        "boto3",
        "httpx",
        "msgspec",
    ]
    assert any(r.startswith("Requires-Dist: boto3") and "extra ==" in r for r in requires)
    assert "Provides-Extra: boto3" in metadata


def test_the_client_installs_and_works_in_a_fresh_venv_without_the_server(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _uv("venv", str(venv), "--python", sys.executable, "--quiet")
    python = str(venv / "bin" / "python")
    _uv("pip", "install", "--python", python, str(wheel), "--quiet")
    installed = {
        p["name"].lower()
        for p in json.loads(_uv("pip", "list", "--python", python, "--format", "json").stdout)
    }
    assert {"connector-client", "httpx", "msgspec"} <= installed
    assert installed.isdisjoint(
        {"litestar", "sqlalchemy", "redis", "asyncpg", "boto3", "connector"}
    )
    # Away from the checkout: `python -c` puts the working directory on sys.path.
    run = subprocess.run(  # noqa: S603
        [python, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["names"], result["refused"], result["server"]) == (["b"], "NOT_CONNECTED", False)
    assert SERVER_ONLY.isdisjoint(result["loaded"])
    assert {"httpx", "msgspec", "connector_client"} <= set(result["loaded"])


def test_the_clients_error_codes_are_the_servers() -> None:
    assert [c.value for c in ClientErrorCode] == [c.value for c in ServerErrorCode]


def test_import_connector_client_still_gives_the_same_client() -> None:
    import connector_client  # noqa: PLC0415

    import connector.client  # noqa: PLC0415 - the compatibility path itself is under test

    assert connector.client.ConnectorClient is connector_client.ConnectorClient
    assert connector.client.ErrorCode is connector_client.ErrorCode
