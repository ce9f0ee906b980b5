"""Two costs Litestar adds to every request that this app's routes do not need, removed as
routes are registered (a `ReceiveRoutePlugin`), with what they do left as it was.

- **Dependencies side by side.** Litestar resolves the dependencies of one level of the graph
  together in an anyio task group (a task per dependency, scheduled through the event loop).
  Every provider here is a plain function that does no I/O (`connector/api/dependencies.py`), so
  the tasks buy nothing; they were about a fifth of a warm GET /connection in the profile (two
  groups of two tasks per request once the provider joined the user id). Each level is resolved
  in order instead: a level needs only the levels before it, so the graph's order is kept.
- **A copy of the route handler per guard.** Litestar calls each guard with `copy(handler)`
  (about 70 attributes; ~7 % of a served request with three guards). A route's guards run as
  one guard instead, in their order, given one copy; none of ours reads the handler, and a
  failing guard stops the rest as before.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import Guard


class LeanRoutes(ReceiveRoutePlugin):
    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler, model in route.route_handler_map.values():
            model.dependency_batches = [
                {dependency} for level in model.dependency_batches for dependency in level
            ]
            guards = handler.resolve_guards()
            if len(guards) > 1:
                # The resolved list is what Litestar runs (`authorize_connection`); the layers'
                # own lists are untouched, so the OpenAPI and the tests still see each guard.
                handler._resolved_guards = [all_of(guards)]


def all_of(guards: list[Guard]) -> Guard:
    """One guard running `guards` in order with the handler it is given."""
    parts = tuple(guards)

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        for part in parts:
            await part(connection, handler)  # type: ignore[misc]  # ensure_async_callable made them async

    guard.parts = parts  # type: ignore[attr-defined]
    return guard
