"""Nothing on the way to a handler leaves the event loop: every guard is a coroutine function
(Litestar runs a plain-function guard in its thread pool) and every dependency provider runs
inline (none is handed to a thread). Counted on the app's routes, not timed."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.utils.sync import AsyncCallable

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


def test_no_guard_runs_in_a_thread(tmp_path: Path) -> None:
    guarded = 0
    for handler in _handlers(tmp_path):
        for guard in handler.resolve_guards():
            assert not isinstance(guard, AsyncCallable), (handler, guard.func)
            guarded += 1
    assert guarded > 10  # the API's routes really are guarded


def test_no_dependency_provider_runs_in_a_thread(tmp_path: Path) -> None:
    providers = 0
    for handler in _handlers(tmp_path):
        for name, provide in handler.resolve_dependencies().items():
            assert not provide.sync_to_thread, (handler, name)
            providers += 1
    assert providers > 10
