"""Helpers of the end-to-end AWS tests (fixtures in tests/e2e/conftest.py): what exists in moto
and how alice gets connected."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from support.oauth_world import COGNITO_URL, POOL_ID, CognitoWorld, Instance

REGION = "us-east-1"
PROVIDER = f"{COGNITO_URL.split('://', 1)[1]}/{POOL_ID}"  # the issuer without its scheme
MOTO_LIFETIME = 90
BUCKETS = ("alice-data", "alice-archive", "team-shared")
FUNCTIONS = ("echo", "reports-daily")
ECHO = "def handler(event, context):\n    return event\n"


async def connect_alice(world: CognitoWorld, replica: Instance) -> None:
    """alice goes through the Hosted UI and back."""
    answer = await world.connect(replica, await world.key(replica, "connect"))
    assert answer.status_code == 302, answer.text


def headers(key: str, user: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-User-Id": user}


def identities(aws: dict[str, Any]) -> list[str]:
    listed = aws["identity"].list_identities(IdentityPoolId=aws["pool_id"], MaxResults=60)
    return [i["IdentityId"] for i in listed["Identities"]]


def zip_one(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()
