"""Client methods defined once for both flavours.

An operation is a request builder from a `_*_calls` module; as a class attribute it becomes a
method that sends the built call through its client's `_run` (sync: returns the result; async:
returns an awaitable of it) or `_iterate` for listings across pages. Type checkers see each
flavour's exact signature through the overloads of `__get__`; `help()` shows the builder's
docstring.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from connector_client._transport import Call, Pages

P = ParamSpec("P")
T = TypeVar("T")
ItemT = TypeVar("ItemT")


class SyncRunner(ABC):
    """A client that sends calls and waits for their results."""

    @abstractmethod
    def _run(self, call: Call[T]) -> T: ...

    @abstractmethod
    def _iterate(self, pages: Pages[Any, ItemT]) -> Iterator[ItemT]: ...


class AsyncRunner(ABC):
    """A client whose calls are awaited."""

    @abstractmethod
    async def _run(self, call: Call[T]) -> T: ...

    @abstractmethod
    def _iterate(self, pages: Pages[Any, ItemT]) -> AsyncIterator[ItemT]: ...


RunnerT_co = TypeVar("RunnerT_co", bound=SyncRunner | AsyncRunner, covariant=True)


class ForUser(Generic[RunnerT_co]):
    """A client bound to one user: its `for_user` operations need no user id."""

    def __init__(self, client: RunnerT_co, user_id: str) -> None:
        self._client = client
        self._user_id = user_id

    @property
    def client(self) -> RunnerT_co:
        return self._client

    @property
    def user_id(self) -> str:
        return self._user_id


def _method(build: Callable[..., Any], send: Callable[[Any], Any], *bound: str) -> Any:
    """`build`'s signature and docstring, minus the `bound` leading arguments, sending its call."""

    @functools.wraps(build)
    def method(*args: Any, **kwargs: Any) -> Any:
        return send(build(*bound, *args, **kwargs))

    signature = inspect.signature(build)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[len(bound) :]
    )
    return method


class _Descriptor:
    def __init__(self, build: Callable[..., Any]) -> None:
        self._build = build
        self.__doc__ = build.__doc__


class Operation(_Descriptor, Generic[P, T]):
    """A client method whose result is one value."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: SyncRunner, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, instance: AsyncRunner, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, instance: SyncRunner | AsyncRunner | None, owner: type[Any]) -> Any:
        return self if instance is None else _method(self._build, instance._run)


class Listing(_Descriptor, Generic[P, ItemT]):
    """A client method that iterates over every page of a listing."""

    def __init__(self, build: Callable[P, Pages[Any, ItemT]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: SyncRunner, owner: type[Any]) -> Callable[P, Iterator[ItemT]]: ...
    @overload
    def __get__(
        self, instance: AsyncRunner, owner: type[Any]
    ) -> Callable[P, AsyncIterator[ItemT]]: ...
    def __get__(self, instance: SyncRunner | AsyncRunner | None, owner: type[Any]) -> Any:
        return self if instance is None else _method(self._build, instance._iterate)


class UserOperation(_Descriptor, Generic[P, T]):
    """A method of a `ForUser` object: an operation whose user id is already known."""

    def __init__(self, build: Callable[Concatenate[str, P], Call[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: ForUser[SyncRunner], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, instance: ForUser[AsyncRunner], owner: type[Any]
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, instance: ForUser[Any] | None, owner: type[Any]) -> Any:
        if instance is None:
            return self
        return _method(self._build, instance.client._run, instance.user_id)


class UserListing(_Descriptor, Generic[P, ItemT]):
    """A method of a `ForUser` object that iterates over every page of a listing."""

    def __init__(self, build: Callable[Concatenate[str, P], Pages[Any, ItemT]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, instance: ForUser[SyncRunner], owner: type[Any]
    ) -> Callable[P, Iterator[ItemT]]: ...
    @overload
    def __get__(
        self, instance: ForUser[AsyncRunner], owner: type[Any]
    ) -> Callable[P, AsyncIterator[ItemT]]: ...
    def __get__(self, instance: ForUser[Any] | None, owner: type[Any]) -> Any:
        if instance is None:
            return self
        return _method(self._build, instance.client._iterate, instance.user_id)
