"""The JSON-RPC methods: each one's params (the REST names), its scope, and the service call it
makes, answered with the same wire views as the REST routes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import msgspec

from connector.api.aws_schemas import (
    BucketsData,
    DeletedData,
    FunctionDetailView,
    FunctionPageData,
    InvokeData,
    ObjectBytesData,
    ObjectPageData,
    PresignData,
    StoredObjectData,
    view,
)
from connector.api.inline_budget import InlineBudget
from connector.api.jsonrpc import INVALID_PARAMS, RpcFaultError
from connector.api.problems import problem_of
from connector.api.schemas import (
    ConnectionsData,
    ConnectionView,
    CredentialsData,
    DisconnectData,
    FlowStartData,
    ProviderConnectionView,
    RejectedData,
    TokenData,
    Wire,
)
from connector.domain.identifiers import parse_user_id
from connector.domain.models import ApiKey, Scope
from connector.errors import ConnectorError, ValidationError
from connector.services.container import OAuthServices, Services
from connector.services.oauth_flow import OAuthFlowService

P = TypeVar("P", bound=Wire)


class Params(Wire, forbid_unknown_fields=True):
    """Params of every method that acts for a user."""

    user_id: str
    provider: str | None = None
    """The Cognito provider to act on; absent: the default provider."""


class DisconnectParams(Params, forbid_unknown_fields=True, kw_only=True):
    all_providers: bool = msgspec.field(default=False, name="all")
    """Disconnect every provider the key may act on (not with `provider`)."""


class UserParams(Wire, forbid_unknown_fields=True):
    """Params of a method over all of a user's providers (listConnections)."""

    user_id: str


class ConnectParams(Params, forbid_unknown_fields=True, kw_only=True):
    redirect_uri: str | None = None
    login_hint: str | None = None
    replace: bool = False


class ConfirmParams(UserParams, forbid_unknown_fields=True, kw_only=True):
    """The pending grant knows its provider: none is named."""

    confirmation: str


class RejectParams(Wire, forbid_unknown_fields=True):
    confirmation: str


class CallbackParams(Wire, forbid_unknown_fields=True):
    code: str
    state: str
    user_id: str | None = None
    """The app's signed-in user, who must be the state's (as X-User-Id on POST /callback);
    required unless the identity binding is `none`."""


class BucketParams(Params, forbid_unknown_fields=True, kw_only=True):
    bucket: str


class ListObjectsParams(BucketParams, forbid_unknown_fields=True, kw_only=True):
    prefix: str | None = None
    delimiter: str | None = None
    max_keys: int = 1000
    continuation_token: str | None = None


class ObjectParams(BucketParams, forbid_unknown_fields=True, kw_only=True):
    key: str


class PutObjectParams(ObjectParams, forbid_unknown_fields=True, kw_only=True):
    body: str
    """base64."""
    content_type: str | None = None


class PresignParams(ObjectParams, forbid_unknown_fields=True, kw_only=True):
    method: Literal["GET", "PUT"]
    expires_in: int = 900


class ListFunctionsParams(Params, forbid_unknown_fields=True, kw_only=True):
    marker: str | None = None
    max_items: int = 50


class FunctionParams(Params, forbid_unknown_fields=True, kw_only=True):
    name: str


class InvokeParams(FunctionParams, forbid_unknown_fields=True, kw_only=True):
    payload: Any = msgspec.field(default_factory=dict)
    invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse"
    log_type: Literal["None", "Tail"] = "None"


@dataclass(frozen=True, slots=True)
class Context:
    """What every method runs with."""

    services: Services
    caller: ApiKey
    budget: InlineBudget
    """Object bytes the request may still carry inline, shared by the calls of a batch."""

    def on(self, params: Params) -> OAuthServices:
        """The services of the provider `params` name (or the default), within the key's
        policy: resolved before any upstream call."""
        return self.services.oauth(self.provider_of(params))

    def provider_of(self, params: Params) -> str:
        return self.services.resolve_provider(params.provider, self.caller)

    @property
    def flows(self) -> OAuthFlowService:
        """For calls whose state or confirmation names its own provider."""
        return self.services.flows()


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
            problem = problem_of(exc)  # the field and the rule, never the value sent
            where = f"{problem.field}: " if problem.field else ""
            data = {"field": problem.field} if problem.field else msgspec.UNSET
            raise RpcFaultError(
                INVALID_PARAMS, f"Invalid params: {where}{problem.rule}", data
            ) from None
        except ConnectorError as exc:
            raise RpcFaultError(
                INVALID_PARAMS, f"Invalid params: {exc.message}", {"field": "userId"}
            ) from None
        return params


def _body(params: PutObjectParams, budget: InlineBudget) -> bytes:
    """The decoded body, claimed from the budget by its size before it is decoded."""
    budget.claim("body").grow_to(_decoded_size(params.body))
    try:
        return base64.b64decode(params.body, validate=True)
    except (binascii.Error, ValueError):
        raise RpcFaultError(
            INVALID_PARAMS, "Invalid params: body: must be base64", {"field": "body"}
        ) from None


def _decoded_size(text: str) -> int:
    """The bytes a base64 text decodes to (exact for valid base64; the decoder judges it)."""
    return len(text) * 3 // 4 - text[-2:].count("=")


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _put(c: Context, p: PutObjectParams) -> StoredObjectData:
    data = _body(p, c.budget)
    stored = await c.on(p).s3.put_object(
        c.caller,
        p.user_id,
        p.bucket,
        p.key,
        _one_chunk(data),
        content_type=p.content_type,
        content_length=len(data),
    )
    return view(stored, StoredObjectData)


async def _get(c: Context, p: ObjectParams) -> ObjectBytesData:
    """The whole object, base64, when it fits the request's inline budget: its Content-Length
    is claimed before a byte is read, and what is read is counted as it arrives, so an object
    past the budget is never held."""
    claim = c.budget.claim("key")
    opened = await c.on(p).s3.open_object(c.caller, p.user_id, p.bucket, p.key)
    try:
        if opened.content_length is not None:
            claim.grow_to(opened.content_length)
        body = bytearray()
        async for chunk in opened.chunks:
            body += chunk
            if len(body) > claim.size:
                claim.grow_to(len(body))
    except BaseException:
        claim.release()  # not carried: the bytes go back to the batch
        raise
    finally:
        await opened.aclose()
    return ObjectBytesData(
        bucket=p.bucket,
        key=p.key,
        content_type=opened.content_type,
        etag=opened.etag,
        body=base64.b64encode(body).decode("ascii"),
    )


async def _connect(c: Context, p: ConnectParams) -> FlowStartData:
    start = await c.on(p).flow.start(
        p.user_id, p.redirect_uri, key_id=c.caller.id, login_hint=p.login_hint, replace=p.replace
    )
    return FlowStartData.of(start)


async def _callback(c: Context, p: CallbackParams) -> ConnectionView:
    connection = await c.flows.complete(p.state, code=p.code, key_id=c.caller.id, user_id=p.user_id)
    return ConnectionView.of(connection)


async def _confirm(c: Context, p: ConfirmParams) -> ConnectionView:
    connection = await c.flows.confirm(p.confirmation, key_id=c.caller.id, user_id=p.user_id)
    return ConnectionView.of(connection)


async def _reject(c: Context, p: RejectParams) -> RejectedData:
    await c.flows.reject(p.confirmation, key_id=c.caller.id)
    return RejectedData(rejected=True)


async def _disconnect(c: Context, p: DisconnectParams) -> DisconnectData:
    if p.all_providers:
        if p.provider is not None:
            raise ValidationError("give provider or all=true, not both", details={"field": "all"})
        results = await c.services.user_connections().disconnect_all(p.user_id, c.caller)
        return DisconnectData.of_all(results)
    return DisconnectData.of(await c.on(p).disconnect.disconnect(p.user_id))


async def _connection(c: Context, p: Params) -> ConnectionView:
    connections = c.services.connections_of(c.provider_of(p))
    return ConnectionView.of(await connections.get(p.user_id))


async def _connections(c: Context, p: UserParams) -> ConnectionsData:
    connections = await c.services.user_connections().list(p.user_id, c.caller)
    return ConnectionsData(connections=[ProviderConnectionView.of(x) for x in connections])


async def _token(c: Context, p: Params) -> TokenData:
    return TokenData.of(await c.on(p).tokens.get_tokens(p.user_id))


async def _credentials(c: Context, p: Params) -> CredentialsData:
    return CredentialsData.of(
        await c.on(p).credentials.get_credentials(p.user_id, key=c.caller, vended=True)
    )


async def _buckets(c: Context, p: Params) -> BucketsData:
    return view({"buckets": await c.on(p).s3.list_buckets(c.caller, p.user_id)}, BucketsData)


async def _objects(c: Context, p: ListObjectsParams) -> ObjectPageData:
    page = await c.on(p).s3.list_objects(
        c.caller,
        p.user_id,
        p.bucket,
        prefix=p.prefix,
        delimiter=p.delimiter,
        max_keys=p.max_keys,
        continuation_token=p.continuation_token,
    )
    return view(page, ObjectPageData)


async def _delete(c: Context, p: ObjectParams) -> DeletedData:
    await c.on(p).s3.delete_object(c.caller, p.user_id, p.bucket, p.key)
    return DeletedData(deleted=True)


async def _presign(c: Context, p: PresignParams) -> PresignData:
    signed = await c.on(p).s3.presign(
        c.caller, p.user_id, p.bucket, p.key, method=p.method, expires_in=p.expires_in
    )
    return view(signed, PresignData)


async def _functions(c: Context, p: ListFunctionsParams) -> FunctionPageData:
    page = await c.on(p).functions.list_functions(
        c.caller, p.user_id, marker=p.marker, max_items=p.max_items
    )
    return view(page, FunctionPageData)


async def _function(c: Context, p: FunctionParams) -> FunctionDetailView:
    return view(
        await c.on(p).functions.get_function(c.caller, p.user_id, p.name), FunctionDetailView
    )


async def _invoke(c: Context, p: InvokeParams) -> InvokeData:
    result = await c.on(p).functions.invoke(
        c.caller,
        p.user_id,
        p.name,
        p.payload,
        invocation_type=p.invocation_type,
        log_type=p.log_type,
    )
    return view(result, InvokeData)


METHODS: dict[str, Method[Any]] = {
    "connect": Method(Scope.CONNECT, ConnectParams, _connect),
    "callback": Method(Scope.CONNECT, CallbackParams, _callback),
    "confirmConnect": Method(Scope.CONNECT, ConfirmParams, _confirm),
    "rejectConnect": Method(Scope.CONNECT, RejectParams, _reject),
    "disconnect": Method(Scope.CONNECT, DisconnectParams, _disconnect),
    "getConnection": Method(Scope.CONNECTION_READ, Params, _connection),
    "listConnections": Method(Scope.CONNECTION_READ, UserParams, _connections),
    "getToken": Method(Scope.TOKEN_READ, Params, _token),
    "getCredentials": Method(Scope.CREDENTIALS_READ, Params, _credentials),
    "listBuckets": Method(Scope.S3_READ, Params, _buckets),
    "listObjects": Method(Scope.S3_READ, ListObjectsParams, _objects),
    "getObject": Method(Scope.S3_READ, ObjectParams, _get),
    "putObject": Method(Scope.S3_WRITE, PutObjectParams, _put),
    "deleteObject": Method(Scope.S3_WRITE, ObjectParams, _delete),
    # Presign's scope depends on its `method`: the S3 service checks it.
    "presign": Method(None, PresignParams, _presign),
    "listFunctions": Method(Scope.LAMBDA_READ, ListFunctionsParams, _functions),
    "getFunction": Method(Scope.LAMBDA_READ, FunctionParams, _function),
    "invokeLambda": Method(Scope.LAMBDA_INVOKE, InvokeParams, _invoke),
}
