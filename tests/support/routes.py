"""Every route of the app, read from its own OpenAPI document, as a request a test can send:
suites that must hold on every route (authentication, headers) cover new routes by themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar import Litestar

# Path parameters filled with well-formed values, so a refusal is never about the path.
_PATH_VALUES = {"bucket": "alice-data", "key": "notes.txt", "name": "echo"}
_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    """The path as documented, with `{parameters}`."""
    path: str
    """The path with every parameter filled in."""
    operation: dict[str, Any]

    @property
    def needs_key(self) -> bool:
        return bool(self.operation.get("security"))

    @property
    def takes_user_id(self) -> bool:
        return any(
            p.get("in") == "header" and p.get("name", "").lower() == "x-user-id"
            for p in self.operation.get("parameters", [])
        )

    @property
    def takes_json(self) -> bool:
        return "application/json" in self.operation.get("requestBody", {}).get("content", {})

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


def routes(app: Litestar) -> list[Route]:
    """Every documented operation of `app`."""
    document = app.openapi_schema.to_schema()
    found = []
    for template, operations in document["paths"].items():
        path = _PARAMETER.sub(lambda m: _PATH_VALUES.get(m.group(1), "some-value"), template)
        for method, operation in operations.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                found.append(Route(method, template, path, operation))
    return found
