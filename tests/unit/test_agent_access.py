"""AgentAccess: who an MCP caller is, the key that bounds it, and the user it acts for."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.fernet import Fernet
from support.factories import make_connection
from support.fakes import FakeApiKeyStore, FakeConnectionStore, FakeTokenVerifier, FixedClock

from connector.adapters.crypto import FernetCipher
from connector.domain.models import Scope
from connector.errors import AuthenticationError, PermissionDeniedError
from connector.services.agents import READ_SCOPES, WRITE_SCOPES, AgentAccess, UserModePolicy
from connector.services.api_keys import ApiKeyService

AGENT = "agent-client"
READ, WRITE = "connector/mcp.read", "connector/mcp.write"
CIPHER = FernetCipher((Fernet.generate_key().decode(),))


class World:
    def __init__(self, *, user_mode: bool = True) -> None:
        self.clock = FixedClock()
        self.keys = ApiKeyService(FakeApiKeyStore(), self.clock)
        self.store = FakeConnectionStore()
        self.user_mode = user_mode
        self.access = self.access_bounded_by(None)

    def access_bounded_by(self, policy_key_id: str | None) -> AgentAccess:
        policy = UserModePolicy(
            client_ids=frozenset({AGENT}),
            read_scope=READ,
            write_scope=WRITE,
            policy_key_id=policy_key_id,
        )
        return AgentAccess(
            api_keys=self.keys,
            connections=self.store,
            verifier=FakeTokenVerifier(self.clock),
            user_mode=policy if self.user_mode else None,
            clock=self.clock,
        )

    async def connect(self, user_id: str, sub: str) -> None:
        await self.store.put(make_connection(user_id, CIPHER, sub=sub), expected_version=None)


def token(sub: str = "sub-alice", scope: str = f"{READ} {WRITE}", client_id: str = AGENT) -> str:
    """The fake verifier's JSON 'token'."""
    claims = {"sub": sub, "client_id": client_id, "scope": scope, "exp": time.time() + 600}
    return json.dumps(claims)


async def test_service_mode_takes_the_key_and_the_user_it_names() -> None:
    world = World()
    _, raw = await world.keys.create("platform", scopes=["s3:read"])

    agent = await world.access.as_service(raw, "alice")

    assert (agent.mode, agent.user_id, agent.refusal) == ("service", "alice", None)
    assert agent.key.scopes == frozenset({Scope.S3_READ})


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "MISSING_USER_ID"), ("", "MISSING_USER_ID"), ("a b", "VALIDATION_ERROR")],
)
async def test_service_mode_without_a_valid_user_keeps_the_refusal_for_every_tool_call(
    header: str | None, code: str
) -> None:
    world = World()
    _, raw = await world.keys.create("platform")

    agent = await world.access.as_service(raw, header)

    assert agent.user_id is None
    assert agent.refusal is not None
    assert agent.refusal.error_code == code
    with pytest.raises(type(agent.refusal)):
        agent.acting_for()


async def test_a_bad_key_is_unauthorized() -> None:
    with pytest.raises(AuthenticationError):
        await World().access.as_service("ck_0123_nope", "alice")


async def test_user_mode_acts_for_the_one_connection_of_the_tokens_sub() -> None:
    world = World()
    await world.connect("alice", "sub-alice")
    await world.connect("bob", "sub-bob")

    agent = await world.access.as_user(token())

    assert (agent.mode, agent.user_id, agent.client_id) == ("user", "alice", AGENT)
    assert agent.key.scopes == READ_SCOPES | WRITE_SCOPES
    assert agent.key.buckets == ()


async def test_a_read_scope_alone_grants_the_read_tools_only() -> None:
    world = World()
    await world.connect("alice", "sub-alice")

    agent = await world.access.as_user(token(scope=f"openid {READ}"))

    assert agent.key.scopes == READ_SCOPES
    assert agent.key.read_only is True


async def test_no_connection_for_the_sub_is_not_connected_saying_how_to_connect() -> None:
    agent = await World().access.as_user(token(sub="sub-nobody"))

    assert agent.user_id is None
    assert agent.refusal is not None
    assert agent.refusal.error_code == "NOT_CONNECTED"
    assert "connect" in agent.refusal.message
    assert "GET /connect" in agent.refusal.message


async def test_several_connections_of_one_sub_are_refused_as_ambiguous() -> None:
    world = World()
    await world.connect("alice-work", "sub-alice")
    await world.connect("alice-home", "sub-alice")

    agent = await world.access.as_user(token())

    assert agent.user_id is None
    assert agent.refusal is not None
    assert agent.refusal.error_code == "IDENTITY_MISMATCH"
    assert agent.refusal.details == {"reason": "several_connections"}


async def test_a_token_of_an_unlisted_client_is_unauthorized() -> None:
    with pytest.raises(AuthenticationError, match="client_id"):
        await World().access.as_user(token(client_id="connector-own-client"))


async def test_a_token_without_the_resource_scopes_is_forbidden() -> None:
    with pytest.raises(PermissionDeniedError):
        await World().access.as_user(token(scope="openid email"))


async def test_user_mode_off_refuses_tokens() -> None:
    with pytest.raises(AuthenticationError, match="user mode"):
        await World(user_mode=False).access.as_user(token())


async def test_the_policy_key_bounds_the_tokens_scopes_and_lends_its_patterns() -> None:
    world = World()
    policy, _ = await world.keys.create(
        "agents", scopes=["s3:read", "lambda:invoke"], buckets=["team-*"]
    )
    await world.connect("alice", "sub-alice")

    agent = await world.access_bounded_by(policy.id).as_user(token(scope=READ))

    assert agent.key.id == policy.id
    assert agent.key.scopes == frozenset({Scope.S3_READ})  # lambda:invoke needs mcp.write
    assert agent.key.buckets == ("team-*",)


async def test_a_revoked_policy_key_stops_user_mode() -> None:
    world = World()
    policy, _ = await world.keys.create("agents")
    await world.keys.revoke(policy.id)
    await world.connect("alice", "sub-alice")

    with pytest.raises(AuthenticationError, match="policy key"):
        await world.access_bounded_by(policy.id).as_user(token())
