"""`requires_connection`: service code that needs a connected user says so, and gets a typed
error carrying the URL to send that user to when there is no usable connection."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

from connector_client.aio import AsyncConnectorClient
from connector_client.codes import ErrorCode
from connector_client.errors import ConnectionRequiredError, NotConnectedError
from connector_client.models import Connection, FlowStart
from connector_client.sync import ConnectorClient

P = ParamSpec("P")
R = TypeVar("R")


def ensure_connected(
    client: ConnectorClient, user_id: str, *, redirect_uri: str | None = None
) -> Connection:
    """The user's active connection; ConnectionRequiredError (with a connect URL) otherwise."""
    try:
        connection: Connection | None = client.get_connection(user_id)
    except NotConnectedError:
        connection = None
    if connection is None or connection.status != "active":
        raise _required(connection, client.connect(user_id, redirect_uri))
    return connection


async def ensure_connected_async(
    client: AsyncConnectorClient, user_id: str, *, redirect_uri: str | None = None
) -> Connection:
    """The user's active connection; ConnectionRequiredError (with a connect URL) otherwise."""
    try:
        connection: Connection | None = await client.get_connection(user_id)
    except NotConnectedError:
        connection = None
    if connection is None or connection.status != "active":
        raise _required(connection, await client.connect(user_id, redirect_uri))
    return connection


@overload
def requires_connection(
    client: ConnectorClient, *, user_id_arg: str = ..., redirect_uri: str | None = ...
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
@overload
def requires_connection(
    client: AsyncConnectorClient, *, user_id_arg: str = ..., redirect_uri: str | None = ...
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...
def requires_connection(
    client: ConnectorClient | AsyncConnectorClient,
    *,
    user_id_arg: str = "user_id",
    redirect_uri: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a function taking the user id as `user_id_arg`: before it runs, the user's
    connection must be active, else ConnectionRequiredError (reason NOT_CONNECTED or
    REAUTH_REQUIRED, `connect_url` for the browser, returning to `redirect_uri`). With an
    AsyncConnectorClient the function must be a coroutine function; with a ConnectorClient not.
    The key needs the `connection:read` and `connect` scopes."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        user_of = _argument_reader(function, user_id_arg)
        if isinstance(client, AsyncConnectorClient):
            if not inspect.iscoroutinefunction(function):
                raise TypeError("an AsyncConnectorClient guards coroutine functions only")

            @functools.wraps(function)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                await ensure_connected_async(
                    client, user_of(args, kwargs), redirect_uri=redirect_uri
                )
                return await function(*args, **kwargs)

            return guarded_async
        if inspect.iscoroutinefunction(function):
            raise TypeError("guard a coroutine function with an AsyncConnectorClient")

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            ensure_connected(client, user_of(args, kwargs), redirect_uri=redirect_uri)
            return function(*args, **kwargs)

        return guarded

    return decorate


def _required(connection: Connection | None, start: FlowStart) -> ConnectionRequiredError:
    if connection is None:
        reason, message = ErrorCode.NOT_CONNECTED, "the user has no connection"
    else:
        reason, message = ErrorCode.REAUTH_REQUIRED, "the user must connect again"
    return ConnectionRequiredError(
        message,
        reason=reason,
        connect_url=start.auth_url,
        state=start.state,
        expires_at=start.expires_at,
    )


def _argument_reader(
    function: Callable[..., Any], name: str
) -> Callable[[tuple[Any, ...], dict[str, Any]], str]:
    """Reads the argument `name` of a call to `function`, however it was passed."""
    signature = inspect.signature(function)
    if name not in signature.parameters:
        raise TypeError(f"{function.__qualname__} has no parameter {name!r}")

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        user_id = bound.arguments.get(name)
        if not isinstance(user_id, str):
            raise TypeError(f"{name} must be a str, got {type(user_id).__name__}")
        return user_id

    return read
