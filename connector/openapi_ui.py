"""The browsable OpenAPI page: Swagger UI, its assets served by the connector itself.

The files come from the `swagger-ui-bundle-v2` wheel, so the page works without internet
access (air-gapped hosts, `connector dev` on a train) and loads nothing from a third party.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.response import File
from swagger_ui_bundle import swagger_ui_path

from connector.api.openapi import finished

ASSETS_PATH = "/swagger/assets"
"""Under the OpenAPI path (`/schema`): `/schema/swagger/assets/<file>`."""
_ASSETS = Path(str(swagger_ui_path))
_SERVED = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@get(f"{ASSETS_PATH}/{{name:str}}", sync_to_thread=False, include_in_schema=False)
def swagger_asset(name: FromPath[str]) -> File:
    """One of the few files the page needs; nothing else of the package is reachable."""
    media_type = _SERVED.get(name)
    if media_type is None:
        raise NotFoundException()
    return File(
        _ASSETS / name,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=86400"},
    )


class OfflineSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI at `<openapi path>/swagger`, pointing at the assets served beside it."""

    def __init__(
        self, openapi_path: str = "/schema", *, providers: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        self._providers = providers
        assets = f"{openapi_path}{ASSETS_PATH}"
        super().__init__(
            js_url=f"{assets}/swagger-ui-bundle.js",
            css_url=f"{assets}/swagger-ui.css",
            standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
            **kwargs,
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, finished(openapi_schema, self._providers))

    def receive_router(self, router: Router) -> None:
        router.register(swagger_asset)
