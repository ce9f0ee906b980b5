"""The OpenAPI operations of the object routes, whose bodies are bytes, not JSON envelopes:
Litestar documents a streamed answer as JSON and a body read raw not at all."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

BYTES = "application/octet-stream"
_BINARY = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]


def _header(description: str, *, integer: bool = False) -> OpenAPIHeader:
    kind = OpenAPIType.INTEGER if integer else OpenAPIType.STRING
    return OpenAPIHeader(schema=Schema(type=kind), description=description)


def _object_headers(*, partial: bool) -> dict[str, OpenAPIHeader | Reference]:
    headers: dict[str, OpenAPIHeader | Reference] = {
        "Content-Length": _header("Bytes in this answer", integer=True),
        "Accept-Ranges": _header("`bytes`: one range may be asked for"),
        "ETag": _header("The object's entity tag"),
        "Last-Modified": _header("When the object was last written (HTTP date)"),
        "Content-Disposition": _header("`attachment`, named after the key's last segment"),
        "Cache-Control": _header("`private, no-store`: user data"),
    }
    if partial:
        headers["Content-Range"] = _header("`bytes FIRST-LAST/SIZE`")
    return headers


def _object_answers(*, with_body: bool) -> dict[str, OpenAPIResponse]:
    content = {BYTES: OpenAPIMediaType(schema=_BINARY)} if with_body else None
    return {
        "200": OpenAPIResponse(
            description="The whole object (sent with the Content-Type it was stored with)",
            headers=_object_headers(partial=False),
            content=content,
        ),
        "206": OpenAPIResponse(
            description="The one range asked for with `Range`",
            headers=_object_headers(partial=True),
            content=content,
        ),
    }


@dataclass
class ObjectDownload(Operation):
    """GET: the object's bytes, whole (200) or one range (206); failures stay envelopes."""

    def __post_init__(self) -> None:  # (a dataclass, so that its __init__ calls this)
        self.responses = {**(self.responses or {}), **_object_answers(with_body=True)}


@dataclass
class ObjectMetadata(Operation):
    """HEAD: the headers GET would send, without the bytes."""

    def __post_init__(self) -> None:
        self.responses = {**(self.responses or {}), **_object_answers(with_body=False)}


@dataclass
class ObjectUpload(Operation):
    """PUT: the request body is the object's bytes, streamed (its Content-Type is kept)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={BYTES: OpenAPIMediaType(schema=_BINARY)},
            description="The object's bytes; any Content-Type (1-255 printable ASCII characters) "
            "is stored with it",
            required=True,
        )
