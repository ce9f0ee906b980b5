"""The client runs in other services: importing it loads no server framework, and boto3 only
once a boto3 session is asked for (import-linter holds the same lines statically)."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_SIDE = ("litestar", "sqlalchemy", "redis", "authlib", "jose", "alembic", "moto")
PROBE = """
import json, sys
import connector_client
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_the_client_loads_no_server_framework_and_no_boto3() -> None:
    probe = [sys.executable, "-c", PROBE]
    loaded = set(json.loads(subprocess.run(probe, capture_output=True, check=True).stdout))  # noqa: S603
    assert loaded.isdisjoint({*SERVER_SIDE, "boto3", "botocore"})
    assert {"httpx", "msgspec"} <= loaded
