"""Identity binding (CONNECTOR_IDENTITY_BINDING): a sign-in is stored only for the app user it
was started for — confirmed by the app, matched by a claim, or (binding `none`) trusted."""

from __future__ import annotations

import asyncio

import pytest
from support.fake_world import KEY_ID, FakeOAuthWorld, make_fake_oauth_world

from connector.domain.oauth import FlowStatus
from connector.errors import (
    ConnectorError,
    ErrorCode,
    IdentityMismatchError,
    InvalidStateError,
    MissingUserIdError,
    ValidationError,
)
from connector.settings import IdentityBinding

RETURN = "https://app.example/done"
OTHER_KEY = "fedcba9876543210"


def world_with(binding: IdentityBinding) -> FakeOAuthWorld:
    return make_fake_oauth_world(return_url=RETURN, binding=binding)


@pytest.fixture
def confirm() -> FakeOAuthWorld:
    return world_with(IdentityBinding(mode="confirm"))


async def signed_in(world: FakeOAuthWorld, user: str = "alice", sub: str = "sub-1") -> str:
    """`user`'s flow, signed in at Cognito as `sub`; returns the confirmation the browser
    brings back to the app (binding `confirm`)."""
    start = await world.flow.start(user, RETURN, key_id=KEY_ID)
    outcome = await world.flow.finish_in_browser(
        start.state, code=world.provider.authorize(start.state, sub)
    )
    assert outcome.error is None, outcome.error
    assert outcome.connection is None
    assert outcome.confirmation is not None
    return outcome.confirmation


def issued_refresh_tokens(world: FakeOAuthWorld) -> set[str]:
    return set(world.provider.refresh_tokens) | set(world.provider.revoked)


async def test_confirm_requires_a_return_url_and_names_the_binding(
    confirm: FakeOAuthWorld,
) -> None:
    with pytest.raises(ValidationError) as refused:
        await confirm.flow.start("alice", None, key_id=KEY_ID)
    assert "CONNECTOR_IDENTITY_BINDING=confirm" in refused.value.message
    assert refused.value.details == {"field": "redirect_uri", "identityBinding": "confirm"}


async def test_the_callback_stores_nothing_until_the_app_confirms(confirm: FakeOAuthWorld) -> None:
    start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID)
    outcome = await confirm.flow.finish_in_browser(
        start.state, code=confirm.provider.authorize(start.state)
    )
    assert outcome.confirmation is not None
    assert confirm.store.rows == {}
    assert await confirm.flow.status(start.state) is FlowStatus.PENDING_CONFIRMATION

    connection = await confirm.flow.confirm(outcome.confirmation, key_id=KEY_ID, user_id="alice")

    assert connection.user_id == "alice"
    assert connection.sub == "sub-1"
    assert confirm.store.rows["alice"].sub == "sub-1"
    assert await confirm.flow.status(start.state) is FlowStatus.COMPLETED
    assert confirm.provider.revoked == []


async def test_the_cache_never_holds_a_confirmation_or_a_token_in_clear(
    confirm: FakeOAuthWorld,
) -> None:
    confirmation = await signed_in(confirm)
    held = b"".join(key.encode() + value for key, (value, _) in confirm.cache.data.items())
    assert confirmation.encode() not in held
    for token in issued_refresh_tokens(confirm):
        assert token.encode() not in held


async def test_another_app_user_gets_identity_mismatch_and_the_sign_in_is_revoked(
    confirm: FakeOAuthWorld,
) -> None:
    start = await confirm.flow.start("mallory", RETURN, key_id=KEY_ID)
    outcome = await confirm.flow.finish_in_browser(
        start.state, code=confirm.provider.authorize(start.state, "victim-sub")
    )
    assert outcome.confirmation is not None

    with pytest.raises(IdentityMismatchError) as refused:
        await confirm.flow.confirm(outcome.confirmation, key_id=KEY_ID, user_id="demo-user")

    assert "victim-sub" not in refused.value.message
    assert refused.value.details == {"reason": "user_mismatch"}
    assert confirm.store.rows == {}
    assert len(confirm.provider.revoked) == 1
    assert confirm.provider.refresh_tokens == {}
    assert await confirm.flow.status(start.state) is FlowStatus.FAILED
    with pytest.raises(InvalidStateError):  # consumed before it was compared
        await confirm.flow.confirm(outcome.confirmation, key_id=KEY_ID, user_id="mallory")
    assert confirm.store.rows == {}


async def test_a_confirmation_is_single_use_even_under_concurrent_confirms(
    confirm: FakeOAuthWorld,
) -> None:
    confirmation = await signed_in(confirm)
    results = await asyncio.gather(
        *(confirm.flow.confirm(confirmation, key_id=KEY_ID, user_id="alice") for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, InvalidStateError) for r in results if isinstance(r, Exception))
    assert confirm.store.rows["alice"].version == 1


@pytest.mark.parametrize("confirmation", ["", "short", "x" * 43, "x" * 42 + "<", "../../etc"])
async def test_unknown_or_malformed_confirmations_are_invalid_state(
    confirm: FakeOAuthWorld, confirmation: str
) -> None:
    await signed_in(confirm)
    with pytest.raises(InvalidStateError):
        await confirm.flow.confirm(confirmation, key_id=KEY_ID, user_id="alice")
    with pytest.raises(InvalidStateError):
        await confirm.flow.reject(confirmation, key_id=KEY_ID)
    assert confirm.store.rows == {}
    assert confirm.provider.revoked == []


async def test_a_confirmation_expires_after_sixty_seconds_and_is_revoked(
    confirm: FakeOAuthWorld,
) -> None:
    confirmation = await signed_in(confirm)
    confirm.clock.advance(60)
    with pytest.raises(InvalidStateError):
        await confirm.flow.confirm(confirmation, key_id=KEY_ID, user_id="alice")
    assert confirm.store.rows == {}
    assert len(confirm.provider.revoked) == 1


async def test_a_confirmation_presented_with_another_key_is_refused_and_revoked(
    confirm: FakeOAuthWorld,
) -> None:
    confirmation = await signed_in(confirm)
    with pytest.raises(InvalidStateError) as refused:
        await confirm.flow.confirm(confirmation, key_id=OTHER_KEY, user_id="alice")
    assert "another API key" in refused.value.message
    assert confirm.store.rows == {}
    assert len(confirm.provider.revoked) == 1


async def test_reject_drops_and_revokes_the_sign_in(confirm: FakeOAuthWorld) -> None:
    start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID)
    outcome = await confirm.flow.finish_in_browser(
        start.state, code=confirm.provider.authorize(start.state)
    )
    assert outcome.confirmation is not None

    await confirm.flow.reject(outcome.confirmation, key_id=KEY_ID)

    assert confirm.store.rows == {}
    assert len(confirm.provider.revoked) == 1
    assert await confirm.flow.status(start.state) is FlowStatus.FAILED
    with pytest.raises(InvalidStateError):
        await confirm.flow.confirm(outcome.confirmation, key_id=KEY_ID, user_id="alice")


async def test_the_sweeper_revokes_sign_ins_nobody_confirmed(confirm: FakeOAuthWorld) -> None:
    await signed_in(confirm, "alice", "sub-a")
    confirm.clock.advance(30)
    await signed_in(confirm, "bob", "sub-b")

    assert await confirm.flow.sweep() == 0  # neither window has closed
    confirm.clock.advance(31)
    assert await confirm.flow.sweep() == 1  # alice's closed at 60 s
    assert [t.rsplit("-", 1)[1] for t in confirm.provider.revoked] == ["a"]
    confirm.clock.advance(30)
    assert await confirm.flow.sweep() == 1
    assert await confirm.flow.sweep() == 0
    assert len(confirm.provider.revoked) == 2
    assert confirm.provider.refresh_tokens == {}
    assert confirm.store.rows == {}


async def test_one_sweeper_at_a_time_across_replicas(confirm: FakeOAuthWorld) -> None:
    await signed_in(confirm)
    confirm.clock.advance(61)
    await confirm.cache.add("lock:sweep:grants", b"another-replica", ttl=15)

    assert await confirm.flow.sweep() == 0
    assert confirm.provider.revoked == []
    await confirm.cache.delete("lock:sweep:grants")
    assert await confirm.flow.sweep() == 1


async def test_a_confirmed_grant_is_never_swept(confirm: FakeOAuthWorld) -> None:
    confirmation = await signed_in(confirm)
    await confirm.flow.confirm(confirmation, key_id=KEY_ID, user_id="alice")
    confirm.clock.advance(3600)
    assert await confirm.flow.sweep() == 0
    assert confirm.provider.revoked == []


async def test_post_callback_outside_none_needs_the_flows_user_and_key(
    confirm: FakeOAuthWorld,
) -> None:
    for user_id, key_id, error in (
        (None, KEY_ID, MissingUserIdError),
        ("mallory", KEY_ID, InvalidStateError),
        ("alice", OTHER_KEY, InvalidStateError),
    ):
        start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID)
        code = confirm.provider.authorize(start.state)
        with pytest.raises(error):
            await confirm.flow.complete(start.state, code=code, key_id=key_id, user_id=user_id)
        assert await confirm.flow.status(start.state) is FlowStatus.FAILED
        with pytest.raises(InvalidStateError):  # burned
            await confirm.flow.complete(start.state, code=code, key_id=KEY_ID, user_id="alice")
    assert confirm.store.rows == {}

    start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID)
    code = confirm.provider.authorize(start.state)
    connection = await confirm.flow.complete(start.state, code=code, key_id=KEY_ID, user_id="alice")
    assert connection.user_id == "alice"


@pytest.mark.parametrize(
    ("claim", "user_id"),
    [("sub", "sub-1"), ("cognito:username", "sub-1"), ("email", "sub-1@example.com")],
)
async def test_claim_binding_stores_a_user_whose_id_is_the_claim(claim: str, user_id: str) -> None:
    world = world_with(IdentityBinding(mode="claim", claim=claim))
    start = await world.flow.start(user_id, RETURN, key_id=KEY_ID)
    outcome = await world.flow.finish_in_browser(
        start.state, code=world.provider.authorize(start.state, "sub-1")
    )
    assert outcome.error is None
    assert outcome.connection is not None
    assert world.store.rows[user_id].sub == "sub-1"


@pytest.mark.parametrize("claim", ["sub", "cognito:username", "email"])
async def test_claim_binding_refuses_another_cognito_user_and_revokes(claim: str) -> None:
    world = world_with(IdentityBinding(mode="claim", claim=claim))
    start = await world.flow.start("mallory", RETURN, key_id=KEY_ID)
    outcome = await world.flow.finish_in_browser(
        start.state, code=world.provider.authorize(start.state, "demo")
    )
    assert isinstance(outcome.error, IdentityMismatchError)
    assert outcome.error.details == {"reason": "claim_mismatch", "claim": claim}
    assert outcome.redirect_uri == RETURN
    assert world.store.rows == {}
    assert len(world.provider.revoked) == 1
    assert await world.flow.status(start.state) is FlowStatus.FAILED


async def test_claim_email_refuses_an_unverified_email() -> None:
    world = world_with(IdentityBinding(mode="claim", claim="email"))
    world.verifier.unverified_emails.add("sub-1")
    start = await world.flow.start("sub-1@example.com", RETURN, key_id=KEY_ID)
    outcome = await world.flow.finish_in_browser(
        start.state, code=world.provider.authorize(start.state, "sub-1")
    )
    assert isinstance(outcome.error, IdentityMismatchError)
    assert world.store.rows == {}


@pytest.mark.parametrize("mode", ["confirm", "none"])
async def test_another_cognito_account_replaces_a_connection_only_when_asked(mode: str) -> None:
    binding = IdentityBinding(mode="confirm") if mode == "confirm" else IdentityBinding(mode="none")
    world = world_with(binding)

    async def connect(sub: str, *, replace: bool) -> None:
        start = await world.flow.start("alice", RETURN, key_id=KEY_ID, replace=replace)
        outcome = await world.flow.finish_in_browser(
            start.state, code=world.provider.authorize(start.state, sub)
        )
        if outcome.error is not None:
            raise outcome.error
        if outcome.confirmation is not None:
            await world.flow.confirm(outcome.confirmation, key_id=KEY_ID, user_id="alice")

    await connect("sub-1", replace=False)
    first = world.store.rows["alice"]

    with pytest.raises(IdentityMismatchError) as refused:
        await connect("sub-2", replace=False)
    assert refused.value.details == {"reason": "account_changed"}
    assert world.store.rows["alice"] == first
    assert [t.endswith("sub-2") for t in world.provider.revoked] == [True]

    await connect("sub-1", replace=False)  # the same account reconnects freely
    assert world.store.rows["alice"].sub == "sub-1"
    replaced = world.cipher.open(world.store.rows["alice"].tokens.refresh_token or "")
    assert replaced not in world.provider.revoked

    await connect("sub-2", replace=True)
    assert world.store.rows["alice"].sub == "sub-2"
    assert world.provider.revoked[-1] == replaced
    assert world.store.rows["alice"].created_at == first.created_at


async def test_a_cancelled_sign_in_reports_access_denied_as_the_reason(
    confirm: FakeOAuthWorld,
) -> None:
    start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID)
    outcome = await confirm.flow.finish_in_browser(
        start.state, code=None, upstream_error="access_denied"
    )
    assert outcome.error is not None
    assert outcome.error.error_code is ErrorCode.CALLBACK_FAILED
    assert outcome.error.details["reason"] == "access_denied"


async def test_an_odd_upstream_error_is_no_reason(confirm: FakeOAuthWorld) -> None:
    start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID)
    outcome = await confirm.flow.finish_in_browser(
        start.state, code=None, upstream_error="<script>alert(1)</script>"
    )
    assert isinstance(outcome.error, ConnectorError)
    assert "reason" not in outcome.error.details


async def test_the_login_hint_reaches_the_hosted_ui(confirm: FakeOAuthWorld) -> None:
    start = await confirm.flow.start("alice", RETURN, key_id=KEY_ID, login_hint="alice@example.com")
    assert confirm.provider.login_hints[start.state] == "alice@example.com"


@pytest.mark.parametrize("hint", ["", "x" * 257, "line\nbreak", "nul\x00"])
async def test_a_malformed_login_hint_is_refused(confirm: FakeOAuthWorld, hint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        await confirm.flow.start("alice", RETURN, key_id=KEY_ID, login_hint=hint)
    assert refused.value.details == {"field": "loginHint"}
