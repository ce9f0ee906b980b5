"""/schema/openapi.json says what the server enforces: every route's envelope and codes, every
checked input's constraint (from the validators' own constants), bytes where bytes travel."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from litestar import Litestar
from support.oauth_world import world_settings

from connector.api import constraints
from connector.api.envelope import STATUS_BY_CODE
from connector.api.guards import names_user
from connector.api.rpc_methods import METHODS
from connector.app import create_app
from connector.bootstrap import build_container
from connector.domain.identifiers import parse_user_id
from connector.errors import ConnectorError, ErrorCode
from connector.settings import Settings

# Routes whose success is not a JSON envelope, by contract.
NOT_ENVELOPED = {
    ("get", "/callback"),  # the browser's return
    ("get", "/s3/buckets/{bucket}/objects/{key}"),  # the object's bytes
    ("head", "/s3/buckets/{bucket}/objects/{key}"),  # the object's headers
    ("post", "/rpc"),  # JSON-RPC response objects, whose `result` is the envelope
    ("get", "/container-credentials/{user_id}"),  # the AWS SDKs' own shape
}
OBJECT = "/s3/buckets/{bucket}/objects/{key}"
ERROR_REF = "#/components/schemas/ErrorResponse"
KEPT_STATUSES = {"405", "413"}


@pytest.fixture
async def app_and_schema(tmp_path: Any, fernet_key: str) -> tuple[Litestar, dict[str, Any]]:
    settings: Settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}", "memory://", fernet_key
    )
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.get("/schema/openapi.json")
    finally:
        await container.close()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    return app, response.json()


@pytest.fixture
def schema(app_and_schema: tuple[Litestar, dict[str, Any]]) -> dict[str, Any]:
    return app_and_schema[1]


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]


def _json_schema(response: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = (
        response.get("content", {}).get("application/json", {}).get("schema", {})
    )
    return found


def _parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation.get("parameters", []) if p["name"] == name)


def test_every_success_names_its_concrete_envelope_by_a_plain_name(schema: dict[str, Any]) -> None:
    operations = _operations(schema)
    assert len(operations) >= 20
    components = schema["components"]["schemas"]
    for method, path, operation in operations:
        if (method, path) in NOT_ENVELOPED:
            continue
        ref = _json_schema(operation["responses"]["200"])["$ref"]
        name = ref.rsplit("/", 1)[1]
        assert re.fullmatch(r"[A-Z][A-Za-z]+Response", name), (method, path, name)
        assert components[name]["properties"]["data"], name


def test_no_component_name_leaks_a_module_path(schema: dict[str, Any]) -> None:
    for name in schema["components"]["schemas"]:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name), name


def test_every_failure_lists_its_codes_as_an_enum_of_the_closed_set(
    schema: dict[str, Any],
) -> None:
    closed = {code.value for code in ErrorCode}
    for method, path, operation in _operations(schema):
        failures = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
        assert failures, (method, path)
        for status, response in failures.items():
            first, narrowed = _json_schema(response)["allOf"]
            assert first == {"$ref": ERROR_REF}, (method, path, status)
            codes = narrowed["properties"]["code"]["enum"]
            assert codes, (method, path, status)
            assert set(codes) <= closed
            # Each code sits under the status the server answers it with (Litestar's own 405
            # and 413 keep their status and carry VALIDATION_ERROR).
            statuses = {STATUS_BY_CODE[ErrorCode(c)] for c in codes}
            if status in KEPT_STATUSES:
                assert codes == [ErrorCode.VALIDATION_ERROR.value], (path, status)
            else:
                assert statuses == {int(status)}, (method, path, status)


def test_the_closed_error_code_enum_and_a_failure_example_are_published(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]
    assert sorted(components["ErrorCode"]["enum"]) == sorted(code.value for code in ErrorCode)
    envelope = components["ErrorResponse"]
    assert set(envelope["required"]) >= {"success", "error", "code", "timestamp"}
    (example,) = envelope["examples"]
    assert example["success"] is False
    assert example["code"] in components["ErrorCode"]["enum"]
    for name, component in components.items():
        for example in component.get("examples", []):
            if isinstance(example, dict) and "error" in example:
                assert example["success"] is False, name


def test_authenticated_routes_document_429_with_rate_limit_fields_and_503_with_retry_after(
    schema: dict[str, Any],
) -> None:
    authenticated = [(m, p, op) for m, p, op in _operations(schema) if "security" in op]
    assert len(authenticated) >= 18
    for method, path, operation in authenticated:
        responses = operation["responses"]
        assert "401" in responses, (method, path)
        limited = responses["429"]["headers"]
        assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(limited), (method, path)
        assert "Retry-After" in responses["503"]["headers"], (method, path)
        assert limited["Retry-After"]["schema"]["type"] == "integer"


def test_x_user_id_is_required_with_its_pattern_wherever_a_guard_demands_it(
    app_and_schema: tuple[Litestar, dict[str, Any]],
) -> None:
    app, schema = app_and_schema
    demanded = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
            if names_user not in guards or not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods:
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                parameter = _parameter(schema["paths"][path][method.lower()], "X-User-Id")
                assert parameter["required"] is True, (method, path)
                assert parameter["schema"]["pattern"] == constraints.USER_ID["pattern"]
                demanded += 1
    assert demanded >= 15


@pytest.mark.parametrize("user", ["alice", "a" * 128, "u.s_e@r:1+2-3"])
def test_the_published_user_id_pattern_accepts_what_the_guard_accepts(user: str) -> None:
    assert parse_user_id(user) == user
    assert re.search(constraints.USER_ID["pattern"], user)


@pytest.mark.parametrize("user", ["a" * 129, "al ice", "ali/ce", "é"])
def test_the_published_user_id_pattern_refuses_what_the_guard_refuses(user: str) -> None:
    with pytest.raises(ConnectorError):
        parse_user_id(user)
    assert not re.search(constraints.USER_ID["pattern"], user)


def test_path_query_and_body_constraints_are_published(schema: dict[str, Any]) -> None:
    listing = schema["paths"]["/s3/buckets/{bucket}/objects"]["get"]
    bucket = _parameter(listing, "bucket")["schema"]
    assert bucket["pattern"] == constraints.BUCKET["pattern"]
    assert (bucket["minLength"], bucket["maxLength"]) == (3, 63)
    max_keys = _parameter(listing, "maxKeys")["schema"]
    assert (max_keys["type"], max_keys["minimum"], max_keys["maximum"]) == ("integer", 1, 1000)
    assert _parameter(listing, "continuationToken")["schema"]["maxLength"] == 4096
    assert _parameter(listing, "delimiter")["schema"]["minLength"] == 1
    function = schema["paths"]["/lambda/functions/{name}"]["get"]
    assert _parameter(function, "name")["schema"]["pattern"] == constraints.FUNCTION_NAME["pattern"]
    functions = schema["paths"]["/lambda/functions"]["get"]
    assert _parameter(functions, "maxItems")["schema"]["maximum"] == 10_000
    connect = schema["paths"]["/connect"]["get"]
    assert (
        _parameter(connect, "loginHint")["schema"]["pattern"] == constraints.LOGIN_HINT["pattern"]
    )
    presign = schema["components"]["schemas"]["PresignBody"]["properties"]
    assert presign["bucket"]["pattern"] == constraints.BUCKET["pattern"]
    assert (presign["expiresIn"]["minimum"], presign["expiresIn"]["maximum"]) == (1, 3600)
    assert presign["method"]["enum"] == ["GET", "PUT"]
    confirmation = schema["components"]["schemas"]["ConfirmationBody"]["properties"]
    assert confirmation["confirmation"]["pattern"] == constraints.FLOW_STATE["pattern"]


def test_no_parameter_is_documented_as_nullable(schema: dict[str, Any]) -> None:
    for method, path, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            assert "anyOf" not in parameter["schema"], (method, path, parameter["name"])


def test_object_routes_document_bytes_ranges_and_a_binary_upload(schema: dict[str, Any]) -> None:
    download = schema["paths"][OBJECT]["get"]
    for status in ("200", "206"):
        content = download["responses"][status]["content"]
        assert content == {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
        }
    assert "Content-Range" in download["responses"]["206"]["headers"]
    assert _parameter(download, "Range")["schema"]["type"] == "string"
    upload = schema["paths"][OBJECT]["put"]["requestBody"]
    assert upload["required"] is True
    assert upload["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    metadata = schema["paths"][OBJECT]["head"]
    assert metadata["operationId"] == "headObject"
    assert "content" not in metadata["responses"]["200"]
    assert "ETag" in metadata["responses"]["200"]["headers"]


def test_api_key_security_is_declared_on_authenticated_routes(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerKey"]["scheme"] == "bearer"
    assert schemes["HeaderKey"]["name"] == "X-API-Key"
    assert "security" in schema["paths"]["/connection"]["get"]
    assert "security" not in schema["paths"]["/health"]["get"]


def test_rpc_documents_its_request_its_methods_and_its_responses(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/rpc"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    single, batch = body["anyOf"]
    assert single["properties"]["method"]["enum"] == sorted(METHODS)
    assert batch["items"] == single
    assert len(METHODS) == 18  # listConnections (issue 13) included
    success = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert "RpcResponse" in str(success)
    assert operation["responses"]["401"]


def test_provider_is_documented_on_every_route_acting_for_one_provider(
    schema: dict[str, Any],
) -> None:
    """Every route acting for a user through one provider takes the `provider` query parameter;
    routes whose state, confirmation or listing finds the providers itself do not."""
    finds_its_own = {"/connect/confirm", "/connect/reject", "/connect/status/{flow_state}"}
    finds_its_own |= {"/callback", "/connections", "/rpc"}
    acting = 0
    for path, ops in schema["paths"].items():
        for method, operation in ops.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            if "X-User-Id" not in names or path in finds_its_own:
                continue
            acting += 1
            provider = next(p for p in operation["parameters"] if p["name"] == "provider")
            assert provider["in"] == "query", (method, path)
            assert "default provider" in provider["description"], (method, path)
            # The configured names: any other is VALIDATION_ERROR.
            assert provider["schema"]["enum"] == ["default"], (method, path)
    assert acting == 15  # connect, disconnect, connection, token, credentials, 7 S3, 3 Lambda
    rpc_params = str(schema["paths"]["/rpc"]["post"]["requestBody"])
    assert "`provider`" in rpc_params
    disconnect = {p["name"] for p in schema["paths"]["/disconnect"]["post"]["parameters"]}
    assert {"provider", "all"} <= disconnect


def test_unions_are_any_of_so_a_value_fitting_two_arms_is_valid(schema: dict[str, Any]) -> None:
    assert '"oneOf"' not in str(schema).replace("'", '"')
    identifier = schema["components"]["schemas"]["RpcResponse"]["properties"]["id"]["anyOf"]
    assert {"type": "integer"} in identifier


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/s3/buckets/b/objects/a/b.txt", "DELETE, GET, HEAD, OPTIONS, PUT"),
        ("/callback", "GET, OPTIONS, POST"),
        ("/s3/buckets", "GET, OPTIONS"),
    ],
)
async def test_options_names_every_method_of_the_path_without_a_key(
    app_and_schema: tuple[Litestar, dict[str, Any]], path: str, allow: str
) -> None:
    app, schema = app_and_schema
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as h:
        answer = await h.options(path)
    assert (answer.status_code, answer.headers["allow"]) == (204, allow)
    documented = {"/s3/buckets/b/objects/a/b.txt": OBJECT}.get(path, path)
    assert {m.upper() for m in schema["paths"][documented]} | {"OPTIONS"} == set(allow.split(", "))
