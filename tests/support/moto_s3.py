"""moto for the s3:// store's tests: in-process (fast, for the contract suites) or a server over
real HTTP reached through the standard AWS_ENDPOINT_URL, and the two S3 behaviours the tests
need to control."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.s3.responses import S3Response

REGION = "us-east-1"


@contextmanager
def in_process_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto inside this process: no HTTP, every boto3 client of the process answered by it."""
    point_boto3_at(monkeypatch, None)
    with mock_aws():
        yield


def point_boto3_at(monkeypatch: pytest.MonkeyPatch, endpoint: str | None) -> None:
    """The service's default credential chain resolves to dummy keys; every call goes to
    `endpoint` (None: AWS's own endpoints, which in-process moto intercepts)."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_")]:
        monkeypatch.delenv(name)
    if endpoint is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def admin_client() -> Any:
    """A client of the test's own, to arrange buckets and inspect what the store wrote."""
    return boto3.client("s3", region_name=REGION)


def new_bucket(admin: Any) -> str:
    """A bucket of this test alone, so tests share one moto server without a reset."""
    bucket = f"connector-{secrets.token_hex(6)}"
    admin.create_bucket(Bucket=bucket)
    return bucket


def make_conditional_writes_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 checks If-Match / If-None-Match and writes as one step; moto 5.2.5 checks, then
    writes, without a lock, so two threads can both pass the check. Serializing moto's object
    writes gives the emulator S3's guarantee: the tests then judge the store, not moto."""
    lock = threading.Lock()

    def serialized(original: Callable[[S3Response], Any]) -> Callable[[S3Response], Any]:
        def handler(self: S3Response) -> Any:
            with lock:
                return original(self)

        return handler

    for name in ("put_object", "delete_object"):
        monkeypatch.setattr(S3Response, name, serialized(getattr(S3Response, name)))


def ignore_conditional_writes(client: Any) -> None:
    """Make `client` talk to S3 like to an endpoint without conditional writes: the headers
    are dropped before signing, so the object is overwritten whatever they said."""

    def drop_conditions(request: Any, **_: Any) -> None:
        for header in ("If-Match", "If-None-Match"):
            if header in request.headers:
                del request.headers[header]

    client.meta.events.register("before-sign.s3.PutObject", drop_conditions)
