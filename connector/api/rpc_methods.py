"""The JSON-RPC methods: each one's params (the REST names), its scope, and the operation it
runs — the same `operations` the REST routes run."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import msgspec

from connector.api import operations as op
from connector.api.jsonrpc import INVALID_PARAMS, RpcFaultError
from connector.api.schemas import Wire
from connector.domain.identifiers import parse_user_id
from connector.domain.models import ApiKey, Scope
from connector.errors import ConnectorError
from connector.services.container import Services

P = TypeVar("P", bound=Wire)


class Params(Wire, forbid_unknown_fields=True):
    """Params of every method that acts for a user."""

    user_id: str


class ConnectParams(Params, forbid_unknown_fields=True):
    redirect_uri: str | None = None
    login_hint: str | None = None
    replace: bool = False


class ConfirmParams(Params, forbid_unknown_fields=True):
    confirmation: str


class RejectParams(Wire, forbid_unknown_fields=True):
    confirmation: str


class CallbackParams(Wire, forbid_unknown_fields=True):
    code: str
    state: str
    user_id: str | None = None
    """The app's signed-in user, who must be the state's (as X-User-Id on POST /callback);
    required unless the identity binding is `none`."""


class BucketParams(Params, forbid_unknown_fields=True):
    bucket: str


class ListObjectsParams(BucketParams, forbid_unknown_fields=True):
    prefix: str | None = None
    delimiter: str | None = None
    max_keys: int = 1000
    continuation_token: str | None = None


class ObjectParams(BucketParams, forbid_unknown_fields=True):
    key: str


class PutObjectParams(ObjectParams, forbid_unknown_fields=True):
    body: str
    """base64."""
    content_type: str | None = None


class PresignParams(ObjectParams, forbid_unknown_fields=True):
    method: Literal["GET", "PUT"]
    expires_in: int = 900


class ListFunctionsParams(Params, forbid_unknown_fields=True):
    marker: str | None = None
    max_items: int = 50


class FunctionParams(Params, forbid_unknown_fields=True):
    name: str


class InvokeParams(FunctionParams, forbid_unknown_fields=True):
    payload: Any = msgspec.field(default_factory=dict)
    invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse"
    log_type: Literal["None", "Tail"] = "None"


@dataclass(frozen=True, slots=True)
class Context:
    """What every method runs with."""

    services: Services
    caller: ApiKey
    max_object_bytes: int


@dataclass(frozen=True, slots=True)
class Method(Generic[P]):
    scope: Scope | None
    """Checked before the method runs (None: the operation checks, as presign does)."""
    params: type[P]
    run: Callable[[Context, P], Awaitable[Any]]

    def decode(self, raw: dict[str, Any]) -> P:
        """Params by name, or Invalid params (-32602), a malformed userId included."""
        try:
            params = msgspec.convert(raw, self.params)
            user_id = getattr(params, "user_id", None)
            if user_id is not None:
                parse_user_id(user_id)
        except msgspec.ValidationError as exc:
            raise RpcFaultError(INVALID_PARAMS, f"Invalid params: {exc}") from None
        except ConnectorError as exc:
            raise RpcFaultError(
                INVALID_PARAMS, f"Invalid params: {exc.message}", {"field": "userId"}
            ) from None
        return params


def _body(params: PutObjectParams) -> bytes:
    try:
        return base64.b64decode(params.body, validate=True)
    except (binascii.Error, ValueError):
        raise RpcFaultError(
            INVALID_PARAMS, "Invalid params: body must be base64", {"field": "body"}
        ) from None


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _put(c: Context, p: PutObjectParams) -> Any:
    data = _body(p)
    return await op.put_object(
        c.services,
        c.caller,
        p.user_id,
        p.bucket,
        p.key,
        body=_one_chunk(data),
        content_type=p.content_type,
        content_length=len(data),
    )


METHODS: dict[str, Method[Any]] = {
    "connect": Method(
        Scope.CONNECT,
        ConnectParams,
        lambda c, p: op.connect(
            c.services,
            c.caller,
            p.user_id,
            p.redirect_uri,
            login_hint=p.login_hint,
            replace=p.replace,
        ),
    ),
    "callback": Method(
        Scope.CONNECT,
        CallbackParams,
        lambda c, p: op.complete_callback(
            c.services, c.caller, code=p.code, state=p.state, user_id=p.user_id
        ),
    ),
    "confirmConnect": Method(
        Scope.CONNECT,
        ConfirmParams,
        lambda c, p: op.confirm_connect(c.services, c.caller, p.user_id, p.confirmation),
    ),
    "rejectConnect": Method(
        Scope.CONNECT,
        RejectParams,
        lambda c, p: op.reject_connect(c.services, c.caller, p.confirmation),
    ),
    "disconnect": Method(Scope.CONNECT, Params, lambda c, p: op.disconnect(c.services, p.user_id)),
    "getConnection": Method(
        Scope.CONNECTION_READ, Params, lambda c, p: op.get_connection(c.services, p.user_id)
    ),
    "getToken": Method(Scope.TOKEN_READ, Params, lambda c, p: op.get_token(c.services, p.user_id)),
    "getCredentials": Method(
        Scope.CREDENTIALS_READ, Params, lambda c, p: op.get_credentials(c.services, p.user_id)
    ),
    "listBuckets": Method(
        Scope.S3_READ, Params, lambda c, p: op.list_buckets(c.services, c.caller, p.user_id)
    ),
    "listObjects": Method(
        Scope.S3_READ,
        ListObjectsParams,
        lambda c, p: op.list_objects(
            c.services,
            c.caller,
            p.user_id,
            p.bucket,
            prefix=p.prefix,
            delimiter=p.delimiter,
            max_keys=p.max_keys,
            continuation_token=p.continuation_token,
        ),
    ),
    "getObject": Method(
        Scope.S3_READ,
        ObjectParams,
        lambda c, p: op.read_object(
            c.services, c.caller, p.user_id, p.bucket, p.key, limit=c.max_object_bytes
        ),
    ),
    "putObject": Method(Scope.S3_WRITE, PutObjectParams, _put),
    "deleteObject": Method(
        Scope.S3_WRITE,
        ObjectParams,
        lambda c, p: op.delete_object(c.services, c.caller, p.user_id, p.bucket, p.key),
    ),
    "presign": Method(
        None,
        PresignParams,
        lambda c, p: op.presign(
            c.services,
            c.caller,
            p.user_id,
            p.bucket,
            p.key,
            method=p.method,
            expires_in=p.expires_in,
        ),
    ),
    "listFunctions": Method(
        Scope.LAMBDA_READ,
        ListFunctionsParams,
        lambda c, p: op.list_functions(
            c.services, c.caller, p.user_id, marker=p.marker, max_items=p.max_items
        ),
    ),
    "getFunction": Method(
        Scope.LAMBDA_READ,
        FunctionParams,
        lambda c, p: op.get_function(c.services, c.caller, p.user_id, p.name),
    ),
    "invokeLambda": Method(
        Scope.LAMBDA_INVOKE,
        InvokeParams,
        lambda c, p: op.invoke(
            c.services,
            c.caller,
            p.user_id,
            p.name,
            p.payload,
            invocation_type=p.invocation_type,
            log_type=p.log_type,
        ),
    ),
}
