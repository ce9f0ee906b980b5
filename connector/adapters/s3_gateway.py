"""S3 on boto3 as the user: listings, streamed reads and writes, deletes, presigned URLs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from connector.adapters.aws_clients import AwsClients
from connector.adapters.aws_errors import AWS_ERRORS, map_aws_error, translated
from connector.domain.aws import AwsCredentials, Bucket, ObjectPage, ObjectStream, ObjectSummary
from connector.domain.aws_names import served_range
from connector.errors import ConnectorError, ErrorCode, ValidationError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

_GET, _PUT = ErrorCode.GET_OBJECT_FAILED, ErrorCode.PUT_OBJECT_FAILED
_MAX_PARTS, _MIN_PART = 10_000, 5 << 20


class S3Gateway:
    """Every S3 call the services make, signed with the user's own credentials."""

    def __init__(
        self,
        clients: AwsClients,
        *,
        chunk_size: int = 1 << 20,
        multipart_threshold: int = 8 << 20,
        part_size: int = 8 << 20,
    ) -> None:
        if chunk_size < 1 or multipart_threshold < 0 or part_size < _MIN_PART:
            raise ValueError("need chunk_size >= 1, multipart_threshold >= 0, part_size >= 5 MiB")
        self._clients = clients
        self._chunk_size = chunk_size
        self._threshold = multipart_threshold
        self._part_size = part_size
        # Aborts that outlive a cancelled upload; held so they are not garbage-collected.
        self._aborts: set[asyncio.Task[None]] = set()

    async def list_buckets(self, creds: AwsCredentials) -> list[Bucket]:
        """Every bucket the user's credentials may list."""
        with translated(ErrorCode.LIST_BUCKETS_FAILED):
            answer = await self._clients.run(self._s3(creds).list_buckets)
        return [
            Bucket(name=b["Name"], creation_date=b.get("CreationDate"))
            for b in answer.get("Buckets", [])
        ]

    async def list_objects(
        self,
        creds: AwsCredentials,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
    ) -> ObjectPage:
        """One page of ListObjectsV2: objects, common prefixes and the next token."""
        given = {"Prefix": prefix, "Delimiter": delimiter, "ContinuationToken": continuation_token}
        with translated(ErrorCode.LIST_OBJECTS_FAILED):
            answer = await self._clients.run(
                self._s3(creds).list_objects_v2,
                Bucket=bucket,
                MaxKeys=max_keys,
                **{name: value for name, value in given.items() if value},
            )
        objects = (
            ObjectSummary(
                key=o["Key"],
                size=o["Size"],
                last_modified=o["LastModified"],
                etag=o.get("ETag", ""),
                storage_class=o.get("StorageClass"),
            )
            for o in answer.get("Contents", [])
        )
        return ObjectPage(
            objects=tuple(objects),
            common_prefixes=tuple(p["Prefix"] for p in answer.get("CommonPrefixes", [])),
            is_truncated=bool(answer.get("IsTruncated")),
            next_continuation_token=answer.get("NextContinuationToken"),
        )

    async def open_object(
        self, creds: AwsCredentials, bucket: str, key: str, *, range_header: str | None = None
    ) -> ObjectStream:
        """GetObject; the body is read `chunk_size` at a time as the caller iterates."""
        served = None if range_header is None else served_range(range_header)
        ranged = {} if served is None else {"Range": served}
        client = self._s3(creds)
        with translated(_GET):
            answer = await self._clients.run(client.get_object, Bucket=bucket, Key=key, **ranged)
        body = _Body(self._clients, answer["Body"], self._chunk_size)
        return ObjectStream(
            content_type=answer.get("ContentType"),
            content_length=answer.get("ContentLength"),
            etag=answer.get("ETag"),
            content_range=answer.get("ContentRange"),
            status=206 if answer.get("ContentRange") else 200,  # S3 sends it only with 206
            last_modified=answer.get("LastModified"),
            chunks=body.chunks,
            _release=body.aclose,
        )

    async def put_object(
        self,
        creds: AwsCredentials,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None,
        content_length: int | None,
    ) -> tuple[str | None, str | None]:
        """Store the streamed body; returns (etag, version id). Up to `multipart_threshold`
        bytes go in one PutObject, more in a multipart upload that is aborted on any failure
        or cancellation, so nothing half-written remains."""
        client = self._s3(creds)
        target: dict[str, Any] = {"Bucket": bucket, "Key": key}
        extra = {"ContentType": content_type} if content_type else {}
        stream, head = aiter(chunks), bytearray()
        # Buffer at most the threshold (plus one chunk) to learn which way to go. Buffers go to
        # botocore as they are (it takes a bytearray): a part is never copied.
        async for chunk in stream:
            head += chunk
            if len(head) > self._threshold:
                break
        else:
            _check_length(len(head), content_length, ended=True)
            with translated(_PUT):
                put = await self._clients.run(client.put_object, **target, **extra, Body=head)
            return put.get("ETag"), put.get("VersionId")
        with translated(_PUT):
            created = await self._clients.run(client.create_multipart_upload, **target, **extra)
        upload = _Upload(self._clients, client, {**target, "UploadId": created["UploadId"]})
        part_size = self._part_size
        if content_length is not None:  # parts big enough to stay within 10,000 of them
            part_size = max(part_size, math.ceil(content_length / _MAX_PARTS))
        try:
            received = len(head)
            head = await upload.parts_of(head, part_size)
            async for chunk in stream:
                head += chunk
                received += len(chunk)
                _check_length(received, content_length, ended=False)
                head = await upload.parts_of(head, part_size)
            _check_length(received, content_length, ended=True)
            return await upload.complete(head)
        except BaseException:
            abort = asyncio.ensure_future(upload.abort())
            self._aborts.add(abort)
            abort.add_done_callback(self._aborts.discard)
            await asyncio.shield(abort)  # a second cancellation must not stop the abort
            raise

    async def delete_object(self, creds: AwsCredentials, bucket: str, key: str) -> None:
        """Delete the key; a missing key is not an error (S3 answers 204 either way)."""
        client = self._s3(creds)
        with translated(ErrorCode.DELETE_OBJECT_FAILED):
            await self._clients.run(client.delete_object, Bucket=bucket, Key=key)

    async def presign(
        self,
        creds: AwsCredentials,
        bucket: str,
        key: str,
        *,
        method: Literal["GET", "PUT"],
        expires_in: int,
    ) -> str:
        """A URL signed with the user's credentials, valid for `expires_in` seconds."""
        with translated(_GET if method == "GET" else _PUT):
            url: str = await self._clients.run(
                self._s3(creds).generate_presigned_url,
                ClientMethod="get_object" if method == "GET" else "put_object",
                Params={"Bucket": bucket, "Key": key},
                ExpiresIn=expires_in,
                HttpMethod=method,
            )
        return url

    def _s3(self, creds: AwsCredentials) -> S3Client:
        # Each method looks the client up (or builds it) in the worker thread of its call.
        client: S3Client = self._clients.in_pool("s3", creds)  # type: ignore[assignment]
        return client


class _Body:
    """A botocore StreamingBody read `size` bytes at a time in the pool, closed exactly once."""

    def __init__(self, clients: AwsClients, body: Any, size: int) -> None:
        self._clients, self._body, self._size = clients, body, size
        self._reading: asyncio.Future[bytes] | None = None
        self._closed = False
        self.chunks: AsyncGenerator[bytes, None] = self._read()

    async def _read(self) -> AsyncGenerator[bytes, None]:
        try:
            while True:
                # No total deadline (a slow but moving download goes on): botocore's read
                # timeout bounds each socket read, an idle timeout on the chunk.
                self._reading = asyncio.ensure_future(
                    self._clients.stream(self._body.read, self._size)
                )
                # Shielded: a cancelled reader must not close the body under a running read.
                chunk = await asyncio.shield(self._reading)
                self._reading = None
                if not chunk:
                    return
                yield chunk
        except AWS_ERRORS as exc:
            raise map_aws_error(exc, _GET) from exc
        finally:
            self._close()

    async def aclose(self) -> None:
        self._close()
        with contextlib.suppress(RuntimeError):  # another task is iterating; it will stop
            await self.chunks.aclose()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        reading, self._reading = self._reading, None
        if reading is None or reading.done():
            self._body.close()
            return

        def close_after(done: asyncio.Future[bytes]) -> None:
            _settled(done)
            self._body.close()

        reading.add_done_callback(close_after)


class _Upload:
    """The parts of one multipart upload; `abort` waits for a part still in flight."""

    def __init__(self, clients: AwsClients, client: S3Client, target: dict[str, Any]) -> None:
        self._clients, self._client, self._target = clients, client, target
        self._parts: list[dict[str, Any]] = []
        self._sending: asyncio.Future[Any] | None = None

    async def part(self, data: bytearray) -> None:
        """Upload `data` as the next part. It is handed over, not copied: never touch it again."""
        number = len(self._parts) + 1
        if number > _MAX_PARTS:
            raise ValidationError(f"the body needs more than {_MAX_PARTS} parts")
        upload_part = self._client.upload_part
        send = self._clients.run(upload_part, **self._target, PartNumber=number, Body=data)
        self._sending = asyncio.ensure_future(send)
        # Shielded so that an abort can wait for this part instead of racing it.
        with translated(_PUT):
            answer = await asyncio.shield(self._sending)
        self._sending = None
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    async def parts_of(self, buffer: bytearray, part_size: int) -> bytearray:
        """Upload what `buffer` holds in parts of at least `part_size`; returns the rest. A
        buffer under twice the size goes as one part, handed over whole (never copied); only
        one chunk far larger than a part (a body sent in one piece) is cut."""
        while len(buffer) >= part_size:
            if len(buffer) < 2 * part_size:
                part, buffer = buffer, bytearray()
            else:
                part = buffer[:part_size]
                del buffer[:part_size]
            await self.part(part)
        return buffer

    async def complete(self, rest: bytearray) -> tuple[str | None, str | None]:
        if rest or not self._parts:
            await self.part(rest)
        with translated(_PUT):
            done = await self._clients.run(
                self._client.complete_multipart_upload,
                **self._target,
                MultipartUpload={"Parts": self._parts},
            )
        return done.get("ETag"), done.get("VersionId")

    async def abort(self) -> None:
        sending, self._sending = self._sending, None
        if sending is not None:
            # S3 may keep a part that lands after the abort: let it land first.
            await asyncio.wait([sending])
            _settled(sending)
        try:
            with translated(_PUT):
                await self._clients.run(self._client.abort_multipart_upload, **self._target)
        except ConnectorError as exc:
            # The upload's own failure is what the caller must see; a lifecycle rule
            # (AbortIncompleteMultipartUpload) is the backstop for what is left behind.
            log.warning("could not abort a multipart upload (%s)", exc.details.get("upstreamCode"))


def _settled(future: asyncio.Future[Any]) -> None:
    """Mark a failure nobody awaits as seen (it is expected after a cancellation)."""
    if not future.cancelled():
        future.exception()


def _check_length(received: int, expected: int | None, *, ended: bool) -> None:
    if expected is not None and (received > expected or (ended and received != expected)):
        raise ValidationError(
            f"the body does not match its Content-Length of {expected} bytes",
            details={"field": "contentLength"},
        )
