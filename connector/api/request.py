"""The request class of the app: Litestar's, with the JSON body's nesting bounded."""

from __future__ import annotations

from typing import Any

from litestar import Request

from connector.domain.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from connector.errors import ValidationError


class ConnectorRequest(Request[Any, Any, Any]):
    """Every REST route decodes its JSON body here: a body nesting deeper than MAX_JSON_DEPTH is
    VALIDATION_ERROR before the decoder recurses into it (100,000 `[` were a RecursionError)."""

    async def json(self) -> Any:
        if nests_deeper_than(await self.body()):
            raise ValidationError(
                f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
                details={"field": "body", "maxDepth": MAX_JSON_DEPTH},
            )
        return await super().json()
