"""The ASGI application: routes, exception handlers, OpenAPI, lifespan."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from connector import __version__, metrics
from connector import tracing as connector_tracing
from connector.api.allow import options_middleware
from connector.api.connections import ConnectionController
from connector.api.container_credentials import ContainerCredentialsController
from connector.api.dependencies import SERVICES
from connector.api.exception_handlers import EXCEPTION_HANDLERS
from connector.api.functions import FunctionController
from connector.api.guards import SECURITY_COMPONENTS
from connector.api.health import HealthController, Readiness
from connector.api.lean_routes import LeanRoutes
from connector.api.mcp.discovery import McpDiscoveryController
from connector.api.mcp.endpoint import McpEndpoint
from connector.api.metrics import MetricsController
from connector.api.oauth import CallbackController, ConnectController
from connector.api.observe import observe, route_known
from connector.api.openapi import ContractJsonRenderPlugin
from connector.api.rate_limiting import RateLimitFieldsMiddleware, enforce_rate_limits
from connector.api.request import ConnectorRequest
from connector.api.rpc import RpcController
from connector.api.s3 import S3Controller
from connector.bootstrap import Container, build_container
from connector.logs.setup import install_redaction
from connector.openapi_ui import OfflineSwaggerPlugin
from connector.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    tracing: bool = False,
) -> Litestar:
    """Build the app. Settings come from the environment unless given; a given container is
    used as is (and left open), otherwise one is built at start-up and closed at shutdown.
    `tracing` adds a server span per request (see connector/tracing.py)."""
    settings = settings or Settings.from_env(os.environ)
    mcp = McpEndpoint(settings)
    providers = tuple(p.name for p in settings.provider_set)  # what `provider` may name
    # A given container serves at once, with or without a lifespan run (tests, embedding).
    readiness = Readiness(ready=container is not None)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if container is not None:
            try:
                yield
            finally:
                readiness.stopping()
            return
        built = await build_container(settings)
        app.state.container = built
        app.state.services = built.services
        readiness.started()
        try:
            async with built.running():
                yield
        finally:
            readiness.stopping()
            await built.close()
            metrics.worker_exited(os.getpid())

    state = State(
        {"container": container, "services": container.services, "readiness": readiness}
        if container
        else {"readiness": readiness}
    )
    state.settings = settings

    app = Litestar(
        route_handlers=[
            HealthController,
            ConnectController,
            CallbackController,
            ConnectionController,
            ContainerCredentialsController,
            S3Controller,
            FunctionController,
            RpcController,
            MetricsController,
            mcp.route(),
            McpDiscoveryController,
        ],
        middleware=[route_known, options_middleware, RateLimitFieldsMiddleware()],
        # Once per request, after every guard: the key, user and scope class are known.
        before_request=enforce_rate_limits,
        request_class=ConnectorRequest,
        dependencies=SERVICES,
        exception_handlers=EXCEPTION_HANDLERS,
        # The MCP session manager runs inside the container's lifespan (its tools need it).
        lifespan=[lifespan, mcp.lifespan],
        state=state,
        openapi_config=OpenAPIConfig(
            title="connector",
            version=__version__,
            description="Cognito-backed OAuth connector: acts in AWS as the user.",
            path="/schema",
            components=SECURITY_COMPONENTS,
            # /schema is the JSON document itself; a browsable page, served whole by the
            # connector (no CDN), lives at /schema/swagger.
            render_plugins=[
                ContractJsonRenderPlugin(path=["/", "/openapi.json"], providers=providers),
                OfflineSwaggerPlugin("/schema", providers=providers),
            ],
        ),
        plugins=[LeanRoutes(), *([connector_tracing.server_plugin()] if tracing else [])],
        # Logging is configured once by the CLI (or the host process), not by the framework.
        logging_config=None,
        debug=False,
    )
    # Outside the router: 404 and 405 answers carry X-Request-Id and are logged too.
    return observe(app)


def create_app_from_environment() -> Litestar:
    """Factory for uvicorn (`--factory`): each worker process reads the environment itself
    (and redacts every log record it makes, whoever configured its handlers)."""
    install_redaction()
    tracing = connector_tracing.requested(os.environ)
    if tracing:
        connector_tracing.start()
    return create_app(tracing=tracing)
