"""S3Gateway against moto: listings, streamed reads and writes, deletes, presigned URLs.

The tests at the end talk to moto's server in a *separate process*, over real HTTP: in-process
moto holds every response body in a BytesIO of this process (tracemalloc would measure moto, not
us), and it cannot serve a presigned URL to an HTTP client.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws
from support.factories import make_aws_credentials
from support.moto_process import moto_server_process

from connector.adapters.aws_clients import AwsClients
from connector.adapters.s3_gateway import S3Gateway
from connector.errors import ExpiredCredentialsError, NotFoundError, ValidationError

REGION = "us-east-1"
BUCKET = "connector-test"
MB = 1 << 20
CREDS = make_aws_credentials()


def _no_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process; returns an admin S3 client that arranges the world."""
    _no_endpoint_override(monkeypatch)
    with mock_aws():
        admin = boto3.client("s3", region_name=REGION)
        admin.create_bucket(Bucket=BUCKET)
        yield admin


@pytest.fixture
def clients(aws: Any) -> Iterator[AwsClients]:
    made = AwsClients(region=REGION)
    yield made
    made.close()


@pytest.fixture
def gateway(clients: AwsClients) -> S3Gateway:
    return S3Gateway(clients)


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


async def stream(data: bytes, chunk: int = MB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


async def read_all(chunks: AsyncIterator[bytes], limit: int = MB) -> bytes:
    received = bytearray()
    async for chunk in chunks:
        assert 0 < len(chunk) <= limit
        received += chunk
    return bytes(received)


def pending_uploads(admin: Any) -> list[Any]:
    return list(admin.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def object_exists(admin: Any, key: str) -> bool:
    return "Contents" in admin.list_objects_v2(Bucket=BUCKET, Prefix=key)


async def test_list_buckets_returns_every_bucket_with_its_creation_date(
    aws: Any, gateway: S3Gateway
) -> None:
    aws.create_bucket(Bucket="another-bucket")
    buckets = await gateway.list_buckets(CREDS)
    assert sorted(b.name for b in buckets) == ["another-bucket", BUCKET]
    assert all(isinstance(b.creation_date, datetime) for b in buckets)


async def test_list_objects_pages_with_max_keys_and_the_continuation_token(
    aws: Any, gateway: S3Gateway
) -> None:
    for key in ("a/1.txt", "a/2.txt", "b/1.txt", "top.txt"):
        aws.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 3)
    first = await gateway.list_objects(CREDS, BUCKET, max_keys=3)
    assert [o.key for o in first.objects] == ["a/1.txt", "a/2.txt", "b/1.txt"]
    assert first.is_truncated
    assert first.next_continuation_token
    second = await gateway.list_objects(
        CREDS, BUCKET, max_keys=3, continuation_token=first.next_continuation_token
    )
    assert [o.key for o in second.objects] == ["top.txt"]
    assert not second.is_truncated
    assert second.next_continuation_token is None
    summary = second.objects[0]
    assert (summary.size, summary.storage_class) == (3, "STANDARD")
    assert summary.etag == '"' + hashlib.md5(b"xxx").hexdigest() + '"'  # noqa: S324


async def test_list_objects_with_a_delimiter_groups_keys_into_common_prefixes(
    aws: Any, gateway: S3Gateway
) -> None:
    for key in ("a/1.txt", "a/2.txt", "b/c/1.txt", "top.txt"):
        aws.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    page = await gateway.list_objects(CREDS, BUCKET, delimiter="/")
    assert page.common_prefixes == ("a/", "b/")
    assert [o.key for o in page.objects] == ["top.txt"]
    nested = await gateway.list_objects(CREDS, BUCKET, prefix="b/", delimiter="/")
    assert (nested.common_prefixes, nested.objects) == (("b/c/",), ())


async def test_a_small_body_is_one_put_and_reads_back_with_its_headers(
    aws: Any, gateway: S3Gateway
) -> None:
    body = b"hello, connector"
    etag, version = await gateway.put_object(
        CREDS, BUCKET, "small.txt", stream(body, 4), content_type="text/plain", content_length=16
    )
    assert etag == '"' + hashlib.md5(body).hexdigest() + '"'  # noqa: S324
    assert version is None  # the bucket is not versioned
    opened = await gateway.open_object(CREDS, BUCKET, "small.txt")
    assert (opened.status, opened.content_type, opened.content_length) == (200, "text/plain", 16)
    assert opened.etag == etag
    assert isinstance(opened.last_modified, datetime)
    assert await read_all(opened.chunks) == body


async def test_a_20_mb_body_streams_up_in_parts_and_back_byte_for_byte(
    aws: Any, gateway: S3Gateway
) -> None:
    data = payload(20 * MB)
    etag, _ = await gateway.put_object(
        CREDS, BUCKET, "big.bin", stream(data), content_type=None, content_length=None
    )
    assert etag is not None
    assert etag.endswith('-3"')  # 8 MB + 8 MB + 4 MB: a multipart upload
    assert pending_uploads(aws) == []
    opened = await gateway.open_object(CREDS, BUCKET, "big.bin")
    assert opened.content_length == len(data)
    assert await read_all(opened.chunks) == data


async def test_a_body_sent_in_one_piece_is_still_cut_into_parts(
    aws: Any, gateway: S3Gateway
) -> None:
    data = payload(20 * MB, seed=11)  # one chunk, as a JSON-RPC base64 body arrives
    etag, _ = await gateway.put_object(
        CREDS,
        BUCKET,
        "one-piece.bin",
        stream(data, len(data)),
        content_type=None,
        content_length=None,
    )
    assert etag is not None
    assert etag.endswith('-2"')  # 8 MB cut off, then the remaining 12 MB handed over whole
    first = aws.head_object(Bucket=BUCKET, Key="one-piece.bin", PartNumber=1)
    assert first["ContentLength"] == 8 * MB
    opened = await gateway.open_object(CREDS, BUCKET, "one-piece.bin")
    assert await read_all(opened.chunks) == data


async def test_a_range_read_answers_206_with_exactly_those_bytes(
    aws: Any, gateway: S3Gateway
) -> None:
    aws.put_object(Bucket=BUCKET, Key="digits", Body=b"0123456789abcdef")
    opened = await gateway.open_object(CREDS, BUCKET, "digits", range_header="bytes=5-9")
    assert (opened.status, opened.content_length) == (206, 5)
    assert opened.content_range == "bytes 5-9/16"
    assert await read_all(opened.chunks) == b"56789"


async def test_an_unsatisfiable_range_is_a_validation_error(aws: Any, gateway: S3Gateway) -> None:
    aws.put_object(Bucket=BUCKET, Key="digits", Body=b"0123456789abcdef")
    with pytest.raises(ValidationError, match="range"):
        await gateway.open_object(CREDS, BUCKET, "digits", range_header="bytes=100-200")


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=0-1,4-5", "bytes=9-5"])
async def test_a_header_that_is_not_one_byte_range_gets_the_whole_object(
    aws: Any, gateway: S3Gateway, header: str
) -> None:
    aws.put_object(Bucket=BUCKET, Key="digits", Body=b"0123456789abcdef")
    opened = await gateway.open_object(CREDS, BUCKET, "digits", range_header=header)
    assert (opened.status, opened.content_range) == (200, None)
    assert await read_all(opened.chunks) == b"0123456789abcdef"


class GatedStream:
    """A raw HTTP body whose reads wait for the test; it records how it was closed."""

    def __init__(self) -> None:
        self.entered, self.release, self.closed = (threading.Event() for _ in range(3))
        self.reading = False
        self.closed_during_a_read: bool | None = None

    def read(self, amt: int | None = None) -> bytes:
        self.reading = True
        self.entered.set()
        self.release.wait(10)
        self.reading = False
        return b"x" * (amt or 1)

    def close(self) -> None:
        self.closed_during_a_read = self.reading
        self.closed.set()


@pytest.fixture
def gated(clients: AwsClients) -> Iterator[GatedStream]:
    """GetObject of "slow" answers a GatedStream (botocore's Stubber on the gateway's client)."""
    raw = GatedStream()
    with Stubber(clients.client("s3", CREDS)) as stub:
        stub.add_response(
            "get_object",
            {"Body": StreamingBody(raw, 10 * MB), "ContentLength": 10 * MB},
            {"Bucket": BUCKET, "Key": "slow"},
        )
        yield raw
    raw.release.set()


async def test_closing_an_unread_object_closes_its_body_and_ends_its_chunks(
    gateway: S3Gateway, gated: GatedStream
) -> None:
    opened = await gateway.open_object(CREDS, BUCKET, "slow")
    await opened.aclose()
    await opened.aclose()
    assert gated.closed.is_set()
    assert await read_all(opened.chunks) == b""


async def test_a_cancelled_reader_closes_the_body_only_after_the_running_read(
    gateway: S3Gateway, gated: GatedStream
) -> None:
    opened = await gateway.open_object(CREDS, BUCKET, "slow")
    reader = asyncio.create_task(read_all(opened.chunks))
    assert await asyncio.to_thread(gated.entered.wait, 10)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert not gated.closed.is_set()  # the read still runs in its worker thread
    gated.release.set()
    assert await asyncio.to_thread(gated.closed.wait, 10)
    assert gated.closed_during_a_read is False


async def test_a_missing_key_or_bucket_is_not_found_with_the_upstream_code(
    gateway: S3Gateway,
) -> None:
    with pytest.raises(NotFoundError) as missing_key:
        await gateway.open_object(CREDS, BUCKET, "absent")
    assert missing_key.value.details["upstreamCode"] == "NoSuchKey"
    with pytest.raises(NotFoundError) as missing_bucket:
        await gateway.list_objects(CREDS, "no-such-bucket")
    assert missing_bucket.value.details["upstreamCode"] == "NoSuchBucket"
    with pytest.raises(NotFoundError) as delete_in_missing:
        await gateway.delete_object(CREDS, "no-such-bucket", "k")
    assert delete_in_missing.value.details["upstreamCode"] == "NoSuchBucket"


async def test_delete_is_idempotent(aws: Any, gateway: S3Gateway) -> None:
    aws.put_object(Bucket=BUCKET, Key="doomed", Body=b"x")
    await gateway.delete_object(CREDS, BUCKET, "doomed")
    await gateway.delete_object(CREDS, BUCKET, "doomed")
    assert not object_exists(aws, "doomed")


def _presigned(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    # Virtual-hosted (bucket.s3.amazonaws.com/key) or path style (host/bucket/key).
    where = f"{parts.netloc}{parts.path}".replace(".s3.amazonaws.com/", "/")
    return where, query


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_a_presigned_url_carries_the_users_own_credentials_and_expiry(
    gateway: S3Gateway, method: Any
) -> None:
    # Fetched for real in test_presigned_urls_upload_and_download_over_plain_http.
    url = await gateway.presign(CREDS, BUCKET, "dir/file.txt", method=method, expires_in=300)
    where, query = _presigned(url)
    assert url.startswith("https://")
    assert where.endswith(f"{BUCKET}/dir/file.txt")
    lowered = {name.lower(): value for name, value in query.items()}
    assert lowered["x-amz-security-token"] == CREDS.session_token
    assert CREDS.access_key_id in (
        lowered.get("x-amz-credential", "") + lowered.get("awsaccesskeyid", "")
    )
    assert "signature" in lowered or "x-amz-signature" in lowered
    assert CREDS.secret_access_key not in url


async def test_a_presigned_url_is_signed_with_sigv4(gateway: S3Gateway) -> None:
    url = await gateway.presign(CREDS, BUCKET, "dir/file.txt", method="GET", expires_in=300)
    _, query = _presigned(url)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].startswith(f"{CREDS.access_key_id}/")
    assert query["X-Amz-Expires"] == "300"
    assert len(query["X-Amz-Signature"]) == 64


async def test_a_failure_mid_upload_aborts_the_multipart_upload(
    aws: Any, gateway: S3Gateway
) -> None:
    async def failing() -> AsyncIterator[bytes]:
        async for chunk in stream(payload(20 * MB)):
            yield chunk
        assert len(pending_uploads(aws)) == 1  # two parts are up; the upload is open
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await gateway.put_object(
            CREDS, BUCKET, "half.bin", failing(), content_type=None, content_length=None
        )
    assert pending_uploads(aws) == []
    assert not object_exists(aws, "half.bin")


async def test_a_cancelled_upload_is_aborted(aws: Any, gateway: S3Gateway) -> None:
    stalled = asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        async for chunk in stream(payload(9 * MB)):
            yield chunk
        stalled.set()
        await asyncio.Event().wait()  # a client that stops sending
        yield b"never"

    upload = asyncio.create_task(
        gateway.put_object(
            CREDS, BUCKET, "cut.bin", stalling(), content_type=None, content_length=None
        )
    )
    await stalled.wait()
    assert len(pending_uploads(aws)) == 1
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert pending_uploads(aws) == []
    assert not object_exists(aws, "cut.bin")


@pytest.mark.parametrize("declared", [5, 20 * MB])
async def test_a_body_shorter_or_longer_than_its_content_length_is_not_stored(
    aws: Any, gateway: S3Gateway, declared: int
) -> None:
    data = payload(10 * MB)
    with pytest.raises(ValidationError, match="Content-Length"):
        await gateway.put_object(
            CREDS, BUCKET, "liar.bin", stream(data), content_type=None, content_length=declared
        )
    assert pending_uploads(aws) == []
    assert not object_exists(aws, "liar.bin")


async def test_expired_credentials_surface_as_expired_credentials_error(
    clients: AwsClients, gateway: S3Gateway
) -> None:
    with Stubber(clients.client("s3", CREDS)) as stub:
        stub.add_client_error("list_buckets", "ExpiredToken", http_status_code=400)
        with pytest.raises(ExpiredCredentialsError) as raised:
            await gateway.list_buckets(CREDS)
    assert raised.value.details["upstreamCode"] == "ExpiredToken"


# --- a real HTTP stream from moto's server in another process ---------------------------


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with moto_server_process() as endpoint:
        yield endpoint


@pytest.fixture
def remote(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, S3Gateway]]:
    _no_endpoint_override(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    admin = boto3.client(
        "s3", region_name=REGION, aws_access_key_id="admin", aws_secret_access_key="admin"
    )
    admin.create_bucket(Bucket=BUCKET)
    clients = AwsClients(region=REGION)
    yield admin, S3Gateway(clients)
    clients.close()


BIG_PARTS = 25  # x 8 MB = 200 MB


async def test_streaming_a_200_mb_object_keeps_memory_flat(remote: tuple[Any, S3Gateway]) -> None:
    admin, gateway = remote
    part = payload(8 * MB, seed=3)
    upload_id = admin.create_multipart_upload(Bucket=BUCKET, Key="huge.bin")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": admin.upload_part(
                Bucket=BUCKET, Key="huge.bin", UploadId=upload_id, PartNumber=n, Body=part
            )["ETag"],
        }
        for n in range(1, BIG_PARTS + 1)
    ]
    admin.complete_multipart_upload(
        Bucket=BUCKET, Key="huge.bin", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    expected = hashlib.sha256()
    for _ in range(BIG_PARTS):
        expected.update(part)
    del part

    await gateway.list_buckets(CREDS)  # the client and its service model exist before measuring
    tracemalloc.start()
    try:
        opened = await gateway.open_object(CREDS, BUCKET, "huge.bin")
        digest, size = hashlib.sha256(), 0
        async for chunk in opened.chunks:
            digest.update(chunk)
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == BIG_PARTS * 8 * MB
    assert digest.hexdigest() == expected.hexdigest()
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"  # a few 1 MB chunks, never the body


async def test_uploading_200_mb_buffers_about_one_part(
    remote: tuple[Any, S3Gateway],
) -> None:
    admin, gateway = remote
    chunk = payload(MB, seed=5)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(BIG_PARTS * 8):
            yield chunk

    await gateway.list_buckets(CREDS)  # the client and its service model exist before measuring
    tracemalloc.start()
    try:
        etag, _ = await gateway.put_object(
            CREDS, BUCKET, "up.bin", body(), content_type=None, content_length=None
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert etag is not None
    assert etag.endswith(f'-{BIG_PARTS}"')
    assert admin.head_object(Bucket=BUCKET, Key="up.bin")["ContentLength"] == BIG_PARTS * 8 * MB
    # One part being filled; the part before it lives on until its worker thread drops it.
    assert peak < 32 * MB, f"peak {peak / MB:.1f} MB"


async def test_presigned_urls_upload_and_download_over_plain_http(
    remote: tuple[Any, S3Gateway],
) -> None:
    _, gateway = remote
    body = b"bytes that never pass through the connector"
    put_url = await gateway.presign(CREDS, BUCKET, "direct.txt", method="PUT", expires_in=60)
    get_url = await gateway.presign(CREDS, BUCKET, "direct.txt", method="GET", expires_in=60)
    async with httpx.AsyncClient() as http:
        assert (await http.put(put_url, content=body)).status_code == 200
        fetched = await http.get(get_url)
    assert (fetched.status_code, fetched.content) == (200, body)


async def test_a_small_put_over_http_is_one_put_object(remote: tuple[Any, S3Gateway]) -> None:
    admin, gateway = remote
    etag, _ = await gateway.put_object(
        CREDS, BUCKET, "small.txt", stream(b"small", 2), content_type="text/plain", content_length=5
    )
    stored = admin.get_object(Bucket=BUCKET, Key="small.txt")
    assert (stored["Body"].read(), stored["ContentType"], stored["ETag"]) == (
        b"small",
        "text/plain",
        etag,
    )
