"""The ASGI application: routes, exception handlers, OpenAPI, lifespan."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from connector import __version__
from connector.api.allow import options_middleware
from connector.api.connections import ConnectionController
from connector.api.dependencies import SERVICES
from connector.api.exception_handlers import EXCEPTION_HANDLERS
from connector.api.functions import FunctionController
from connector.api.guards import SECURITY_COMPONENTS
from connector.api.health import HealthController, Readiness
from connector.api.metrics import PROMETHEUS, MetricsController
from connector.api.oauth import CallbackController, ConnectController
from connector.api.openapi import ContractJsonRenderPlugin
from connector.api.request import ConnectorRequest
from connector.api.rpc import RpcController
from connector.api.s3 import S3Controller
from connector.bootstrap import Container, build_container
from connector.openapi_ui import OfflineSwaggerPlugin
from connector.settings import Settings


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> Litestar:
    """Build the app. Settings come from the environment unless given; a given container is
    used as is (and left open), otherwise one is built at start-up and closed at shutdown."""
    settings = settings or Settings.from_env(os.environ)
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

    state = State(
        {"container": container, "services": container.services, "readiness": readiness}
        if container
        else {"readiness": readiness}
    )

    return Litestar(
        route_handlers=[
            HealthController,
            ConnectController,
            CallbackController,
            ConnectionController,
            S3Controller,
            FunctionController,
            RpcController,
            MetricsController,
        ],
        middleware=[PROMETHEUS.middleware, options_middleware],
        request_class=ConnectorRequest,
        dependencies=SERVICES,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
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
                ContractJsonRenderPlugin(path=["/", "/openapi.json"]),
                OfflineSwaggerPlugin("/schema"),
            ],
        ),
        # Logging is configured once by the CLI (or the host process), not by the framework.
        logging_config=None,
        debug=False,
    )


def create_app_from_environment() -> Litestar:
    """Factory for uvicorn (`--factory`): each worker process reads the environment itself."""
    return create_app()
