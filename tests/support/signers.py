"""Who signed each request moto received: its access key id, read from the SigV4
`Authorization` header or a presigned URL's `X-Amz-Credential`, through moto's request
recorder (the threaded moto server runs in this process). moto checks no signature, so this
is how the suites tell a call made as the user from one made as the connector."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import moto.moto_api
from moto.moto_api._internal.recorder.models import Recorder

# The connector's own credentials in the suites: never those of any user (moto's identity
# pool answers TESTACCESSKEY12345, its STS ASIA... keys).
CONNECTOR_ACCESS_KEY = "AKIACONNECTOROWNKEY1"
# What the tests themselves use to seed moto (buckets, functions, the identity pool).
OPERATOR_ACCESS_KEY = "AKIATESTOPERATORKEY1"
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")
_SERVICE = re.compile(r"Credential=[A-Za-z0-9]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/")


@dataclass(frozen=True, slots=True)
class Signed:
    """One request moto received."""

    method: str
    path: str
    service: str | None
    access_key_id: str | None
    """None when unsigned (Cognito Identity's public calls, STS AssumeRoleWithWebIdentity)."""
    target: str | None
    """The `X-Amz-Target` header (JSON protocols name the operation there)."""
    form: dict[str, str]
    """A small form-encoded body's fields (the query protocol of STS: Action, Policy...)."""


class SigningRecorder(Recorder):
    """moto's recorder, keeping only who signed what (never bodies: uploads run to 20 MB)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.requests: list[Signed] = []

    def _record_request(self, request: Any, body: bytes | None = None) -> None:
        headers = {k.lower(): v for k, v in dict(request.headers).items()}
        authorization = headers.get("authorization", "")
        query = parse_qs(urlsplit(request.raw_url).query)
        credential = query.get("X-Amz-Credential", [""])[0]
        text = authorization or (f"Credential={credential}" if credential else "")
        key = _CREDENTIAL.search(text)
        service = _SERVICE.search(text)
        with self._lock:
            self.requests.append(
                Signed(
                    method=request.method,
                    path=urlsplit(request.raw_url).path,
                    service=service.group(1) if service else None,
                    access_key_id=key.group(1) if key else None,
                    target=headers.get("x-amz-target"),
                    form=_form(request, headers),
                )
            )

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def signers(self, service: str, path_contains: str = "") -> set[str | None]:
        """The access key ids that signed `service` requests whose path contains the text."""
        with self._lock:
            return {
                r.access_key_id
                for r in self.requests
                if r.service == service and path_contains in r.path
            }

    def actions(self, action: str) -> list[Signed]:
        """The query-protocol requests (STS, IAM) of `action`, in order."""
        with self._lock:
            return [r for r in self.requests if r.form.get("Action") == action]

    def signed_by(self, access_key_id: str) -> list[Signed]:
        with self._lock:
            return [r for r in self.requests if r.access_key_id == access_key_id]


_FORM_LIMIT = 64 << 10


def _form(request: Any, headers: dict[str, str]) -> dict[str, str]:
    """The fields of a small form-encoded body, read and put back for moto to read again."""
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    length = int(headers.get("content-length") or 0)
    if not 0 < length <= _FORM_LIMIT:
        return {}
    body = request.environ["wsgi.input"].read(length)
    request.environ["wsgi.input"] = io.BytesIO(body)
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


@contextmanager
def recording() -> Iterator[SigningRecorder]:
    """Record who signs every request to the in-process moto server until the block ends."""
    recorder = SigningRecorder()
    previous = moto.moto_api.recorder
    moto.moto_api.recorder = recorder  # type: ignore[attr-defined]
    try:
        yield recorder
    finally:
        moto.moto_api.recorder = previous  # type: ignore[attr-defined]
