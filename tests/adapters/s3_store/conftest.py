"""Fixtures of the s3:// store's adapter tests: moto in this process, a bucket per test, and
the two ways AWS can be out of reach (no endpoint, no credentials)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.moto_s3 import (
    admin_client,
    in_process_s3,
    make_conditional_writes_atomic,
    new_bucket,
    point_boto3_at,
)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """In-process moto with S3's atomic conditional writes; the admin client of the test."""
    make_conditional_writes_atomic(monkeypatch)
    with in_process_s3(monkeypatch):
        yield admin_client()


@pytest.fixture
def bucket(s3: Any) -> str:
    return new_bucket(s3)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused at once."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@pytest.fixture
def unreachable_endpoint(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> str:
    """boto3 pointed at nothing (and so never at AWS itself)."""
    endpoint = f"http://127.0.0.1:{closed_port}"
    point_boto3_at(monkeypatch, endpoint)
    return endpoint


@pytest.fixture
def no_aws_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unreachable_endpoint: str
) -> None:
    """Nothing anywhere on boto3's default chain (environment, files, metadata endpoints)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
