"""/schema: the OpenAPI document shows the concrete envelope of every route and every code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support.oauth_world import world_settings

from connector.api.rpc_methods import METHODS
from connector.app import create_app
from connector.bootstrap import build_container
from connector.errors import ErrorCode
from connector.settings import Settings

# Routes whose success is not a JSON envelope, by contract.
# The browser return, and object downloads (raw bytes; their failures are envelopes).
NOT_ENVELOPED = {
    ("get", "/callback"),
    ("get", "/s3/buckets/{bucket}/objects/{key}"),
    ("post", "/rpc"),  # JSON-RPC response objects, whose `result` is the envelope
    ("get", "/container-credentials/{user_id}"),  # the AWS SDKs' own shape
}


@pytest.fixture
async def schema(tmp_path: Any, fernet_key: str) -> dict[str, Any]:
    settings: Settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}", "memory://", fernet_key
    )
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.get("/schema")
    finally:
        await container.close()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    document: dict[str, Any] = response.json()
    return document


def _ref(response: dict[str, Any]) -> str:
    return str(
        response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    )


def test_every_success_names_its_concrete_envelope(schema: dict[str, Any]) -> None:
    operations = [(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 8
    for method, path, operation in operations:
        if (method, path) in NOT_ENVELOPED:
            continue
        ref = _ref(operation["responses"]["200"])
        assert ref.startswith("#/components/schemas/ApiResponse_"), (method, path, ref)
        assert schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["data"]


def test_every_documented_failure_is_the_error_envelope(schema: dict[str, Any]) -> None:
    for path, ops in schema["paths"].items():
        for method, operation in ops.items():
            failures = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
            assert failures, (method, path)
            for status, response in failures.items():
                assert _ref(response) == "#/components/schemas/ErrorResponse", (
                    method,
                    path,
                    status,
                )


def test_the_closed_error_code_enum_is_published(schema: dict[str, Any]) -> None:
    published = schema["components"]["schemas"]["ErrorCode"]["enum"]
    assert sorted(published) == sorted(code.value for code in ErrorCode)
    envelope = schema["components"]["schemas"]["ErrorResponse"]
    assert set(envelope["required"]) >= {"success", "error", "code", "timestamp"}


def test_api_key_security_is_declared_on_authenticated_routes(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerKey"]["scheme"] == "bearer"
    assert schemes["HeaderKey"]["name"] == "X-API-Key"
    assert "security" in schema["paths"]["/connection"]["get"]
    assert "security" not in schema["paths"]["/health"]["get"]
    parameters = {p["name"] for p in schema["paths"]["/connection"]["get"]["parameters"]}
    assert "X-User-Id" in parameters


def test_rpc_documents_its_request_its_methods_and_its_responses(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/rpc"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    single, batch = body["oneOf"]
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
    assert acting == 14  # connect, disconnect, connection, token, credentials, 6 S3, 3 Lambda
    rpc_params = str(schema["paths"]["/rpc"]["post"]["requestBody"])
    assert "`provider`" in rpc_params
    disconnect = {p["name"] for p in schema["paths"]["/disconnect"]["post"]["parameters"]}
    assert {"provider", "all"} <= disconnect
