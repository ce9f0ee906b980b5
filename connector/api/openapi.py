"""The OpenAPI document as published: Litestar's, finished so that it says exactly what the
server does. Applied to every route, so a new one gets the same treatment:

- a failure response lists the codes it may carry as an enum (from the per-code examples that
  `connector.api.responses.error_responses` attaches), and 429/503 name `Retry-After` (429 also
  the IETF RateLimit fields);
- a query or header parameter is never `null` on the wire, so its `oneOf [T, null]` becomes T;
- generic envelopes get plain component names (`BucketsDataResponse`, not a module path);
- a union is `anyOf` (Litestar writes `oneOf`, which refuses a value two arms accept).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from connector.api.responses import EXAMPLE_TIMESTAMP

Document = dict[str, Any]
RATE_LIMIT_DRAFT = "draft-ietf-httpapi-ratelimit-headers-09"
_GENERIC = re.compile(r"ApiResponse_(?:[A-Za-z_][\w]*\.)*(?P<name>\w+?)_")
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}
_RATE_LIMIT_HEADERS = {
    "RateLimit": {
        "description": f"The quota left and when it resets ({RATE_LIMIT_DRAFT})",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": f"The quota policy ({RATE_LIMIT_DRAFT})",
        "schema": {"type": "string"},
    },
}
_ERROR_REF = "#/components/schemas/ErrorResponse"
_ERROR_EXAMPLE = {
    "success": False,
    "error": "X-User-Id is required: name the user to act for",
    "code": "MISSING_USER_ID",
    "timestamp": EXAMPLE_TIMESTAMP,
}


def finished(generated: Document, providers: tuple[str, ...] = ()) -> Document:
    """`finish(generated, providers)`, made once per document: Litestar builds its document once
    and hands the same object to every render."""
    made = _FINISHED.get((id(generated), providers))
    if made is None or made[0] is not generated:
        made = (generated, finish(generated, providers))
        _FINISHED[(id(generated), providers)] = made
        while len(_FINISHED) > _KEPT:  # one app per process in service; tests build many
            del _FINISHED[next(iter(_FINISHED))]
    return made[1]


_KEPT = 4
_FINISHED: dict[tuple[int, tuple[str, ...]], tuple[Document, Document]] = {}


def finish(generated: Document, providers: tuple[str, ...] = ()) -> Document:
    """The published document made from Litestar's (which is left as it is). `providers`, the
    configured provider names, are the values the `provider` query parameter takes (any other
    is VALIDATION_ERROR)."""
    document = _renamed(copy.deepcopy(generated))
    components = document.get("components", {}).get("schemas", {})
    if "ErrorResponse" in components:
        _finish_error_component(components["ErrorResponse"])
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                _finish_operation(operation)
                if providers:
                    _name_providers(operation, providers)
    any_of: Document = _any_of(document)
    return any_of


def _name_providers(operation: dict[str, Any], providers: tuple[str, ...]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("name") == "provider":
            parameter.setdefault("schema", {})["enum"] = sorted(providers)


def _any_of(node: Any) -> Any:
    """Litestar writes a union as `oneOf`, which fails a value that fits two arms (`0` is an
    integer and a number); a union means `anyOf`."""
    if isinstance(node, dict):
        return {("anyOf" if key == "oneOf" else key): _any_of(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_any_of(item) for item in node]
    return node


def _renamed(document: Document) -> Document:
    """`ApiResponse_connector.api.x.BucketsData_` -> `BucketsDataResponse`, refs included."""
    schemas = document.get("components", {}).get("schemas", {})
    names = {old: _GENERIC.sub(r"\g<name>Response", old) for old in schemas}
    if len(set(names.values())) != len(names):  # two generics would share a name: keep Litestar's
        return document
    document["components"]["schemas"] = {names[k]: v for k, v in schemas.items()}
    for old, new in names.items():
        if new != old:  # generators name classes after the title (`ApiResponse[BucketsData]`)
            document["components"]["schemas"][new]["title"] = new

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (_rename_ref(value, names) if key == "$ref" else rewrite(value))
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    result: Document = rewrite(document)
    return result


def _rename_ref(ref: str, names: dict[str, str]) -> str:
    prefix, _, name = ref.rpartition("/")
    return f"{prefix}/{names.get(name, name)}"


def _finish_error_component(schema: dict[str, Any]) -> None:
    for field in schema.get("properties", {}).values():
        field.pop("examples", None)
    schema["examples"] = [_ERROR_EXAMPLE]


def _finish_operation(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        parameter["schema"] = _never_null(parameter.get("schema", {}))
    for status, response in operation.get("responses", {}).items():
        if status.startswith(("4", "5")):
            _finish_failure(status, response)


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`{oneOf: [T, {type: null}], ...constraints}` -> `{...T, ...constraints}`."""
    arms = schema.get("oneOf")
    if not isinstance(arms, list):
        return schema
    kept = [arm for arm in arms if arm.get("type") != "null"]
    if len(kept) != 1 or len(kept) == len(arms):
        return schema
    siblings = {key: value for key, value in schema.items() if key != "oneOf"}
    return {**kept[0], **siblings}


def _finish_failure(status: str, response: dict[str, Any]) -> None:
    media = response.get("content", {}).get("application/json")
    if media is not None and media.get("schema", {}).get("$ref") == _ERROR_REF:
        codes = sorted(
            {
                example["value"]["code"]
                for example in (media.get("examples") or {}).values()
                if isinstance(example.get("value"), dict) and "code" in example["value"]
            }
        )
        if codes:
            media["schema"] = {
                "allOf": [
                    {"$ref": _ERROR_REF},
                    {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}},
                ]
            }
    if status in ("429", "503"):
        headers = response.setdefault("headers", {})
        headers["Retry-After"] = _RETRY_AFTER
        if status == "429":
            headers.update(_RATE_LIMIT_HEADERS)


class ContractJsonRenderPlugin(JsonRenderPlugin):
    """`/schema` and `/schema/openapi.json`: the finished document (`providers`: the configured
    provider names)."""

    def __init__(self, *, providers: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._providers = providers

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, finished(openapi_schema, self._providers))
