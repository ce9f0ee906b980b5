"""Nothing on the way to a handler leaves the event loop: every guard is a coroutine function
(Litestar runs a plain-function guard in its thread pool) and every dependency provider runs
inline (none is handed to a thread); and what `LeanRoutes` changes: no task group for the
dependencies, one handler copy for the guards. Checked on the app's routes, not timed."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.utils.sync import AsyncCallable

from connector.api.lean_routes import all_of
from connector.app import create_app
from connector.settings import Settings


def _handlers(tmp_path: Path) -> list[HTTPRouteHandler]:
    settings = Settings.from_env(
        {
            "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}",
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )
    app = create_app(settings)
    return [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler)
    ]


def _declared_guards(handler: HTTPRouteHandler) -> list[Any]:
    """The guards of every layer (app, controller, route), in Litestar's order."""
    return [guard for layer in handler.ownership_layers for guard in (layer.guards or [])]


def test_no_guard_runs_in_a_thread(tmp_path: Path) -> None:
    guarded = 0
    for handler in _handlers(tmp_path):
        for guard in _declared_guards(handler):
            assert inspect.iscoroutinefunction(guard), (handler, guard)
            guarded += 1
        for guard in handler.resolve_guards():
            assert not isinstance(guard, AsyncCallable), (handler, guard.func)
    assert guarded > 10  # the API's routes really are guarded


def test_a_routes_guards_run_as_one_in_their_order(tmp_path: Path) -> None:
    merged = 0
    for handler in _handlers(tmp_path):
        declared, resolved = _declared_guards(handler), handler.resolve_guards()
        if len(declared) <= 1:
            assert len(resolved) == len(declared), handler
            continue
        assert len(resolved) == 1, handler
        assert [getattr(part, "func", part) for part in resolved[0].parts] == declared, handler
        merged += 1
    assert merged > 10


async def test_one_guard_failing_stops_the_ones_after_it() -> None:
    ran: list[str] = []

    async def first(_: Any, __: Any) -> None:
        ran.append("first")
        raise PermissionError

    async def second(_: Any, __: Any) -> None:
        ran.append("second")

    with pytest.raises(PermissionError):
        await all_of([first, second])(object(), object())  # type: ignore[arg-type]
    assert ran == ["first"]


def test_dependencies_resolve_one_at_a_time(tmp_path: Path) -> None:
    """A level of several would run in an anyio task group (a task each, per request)."""
    settings = Settings.from_env(
        {
            "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'levels.db'}",
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )
    levels = [
        level
        for route in create_app(settings).routes
        if isinstance(route, HTTPRoute)
        for _, model in route.route_handler_map.values()
        for level in model.dependency_batches
    ]
    assert levels
    assert all(len(level) == 1 for level in levels)


def test_no_dependency_provider_runs_in_a_thread(tmp_path: Path) -> None:
    providers = 0
    for handler in _handlers(tmp_path):
        for name, provide in handler.resolve_dependencies().items():
            assert not provide.sync_to_thread, (handler, name)
            providers += 1
    assert providers > 10
