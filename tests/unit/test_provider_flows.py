"""One /callback for every provider: a flow (and a pending grant) remembers its provider, and
whichever provider's flow service receives it hands it to that provider's (code exchange,
verification, revocation, storage)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from support.fake_world import KEY_ID, FakeOAuthWorld, make_fake_oauth_world
from support.fakes import FakeIdentityProvider, FakeTokenVerifier

from connector.errors import ErrorCode
from connector.services.oauth_flow import OAuthFlowService
from connector.settings import IdentityBinding

RETURN = "https://app.example/done"


@dataclass
class TwoProviders:
    world: FakeOAuthWorld
    """Its flow service is the default provider's."""
    acme: OAuthFlowService
    acme_idp: FakeIdentityProvider


def two_providers(binding: IdentityBinding) -> TwoProviders:
    world = make_fake_oauth_world(return_url=RETURN, binding=binding)
    acme_idp = FakeIdentityProvider(world.clock)
    acme = OAuthFlowService(
        provider=acme_idp, verifier=FakeTokenVerifier(world.clock),
        connections=world.connections.for_provider("acme"), cache=world.cache,
        cipher=world.cipher, clock=world.clock, redirect_allowlist=(RETURN,), binding=binding,
    )  # fmt: skip
    flows = {"default": world.flow, "acme": acme}
    world.flow.route(flows)
    acme.route(flows)
    return TwoProviders(world, acme, acme_idp)


async def test_a_flow_of_one_provider_finished_at_another_is_that_providers() -> None:
    both = two_providers(IdentityBinding(mode="none"))
    start = await both.acme.start("alice", RETURN, key_id=KEY_ID)
    code = both.acme_idp.authorize(start.state, "sub-acme")

    outcome = await both.world.flow.finish_in_browser(start.state, code=code)

    assert outcome.error is None, outcome.error
    assert outcome.connection is not None
    assert (outcome.connection.provider, outcome.connection.sub) == ("acme", "sub-acme")
    assert both.world.store.rows["alice/acme"].sub == "sub-acme"
    assert "alice" not in both.world.store.rows
    assert len(both.acme_idp.refresh_tokens) == 1
    assert both.world.provider.refresh_tokens == {}


async def test_a_pending_grant_is_confirmed_for_its_own_provider() -> None:
    both = two_providers(IdentityBinding(mode="confirm"))
    start = await both.acme.start("alice", RETURN, key_id=KEY_ID)
    outcome = await both.world.flow.finish_in_browser(
        start.state, code=both.acme_idp.authorize(start.state, "sub-acme")
    )
    assert outcome.confirmation is not None

    connection = await both.world.flow.confirm(outcome.confirmation, key_id=KEY_ID, user_id="alice")

    assert connection.provider == "acme"
    assert set(both.world.store.rows) == {"alice/acme"}


async def test_the_sweeper_revokes_each_abandoned_sign_in_at_its_own_provider() -> None:
    both = two_providers(IdentityBinding(mode="confirm"))
    for flow, idp in ((both.world.flow, both.world.provider), (both.acme, both.acme_idp)):
        start = await flow.start("alice", RETURN, key_id=KEY_ID)
        await both.world.flow.finish_in_browser(start.state, code=idp.authorize(start.state))
    both.world.clock.advance(61)

    assert await both.world.flow.sweep() == 2

    assert (len(both.world.provider.revoked), len(both.acme_idp.revoked)) == (1, 1)
    assert both.world.store.rows == {}


async def test_a_flow_whose_provider_is_no_longer_configured_fails_as_a_callback() -> None:
    both = two_providers(IdentityBinding(mode="none"))
    start = await both.acme.start("alice", RETURN, key_id=KEY_ID)
    code = both.acme_idp.authorize(start.state)
    both.world.flow.route({"default": both.world.flow})  # acme removed, e.g. by a redeploy

    outcome = await both.world.flow.finish_in_browser(start.state, code=code)

    assert outcome.error is not None
    assert outcome.error.error_code is ErrorCode.CALLBACK_FAILED
    assert outcome.error.details["provider"] == "acme"
    assert both.world.store.rows == {}


@pytest.mark.parametrize("provider", ["default", "acme"])
async def test_every_provider_keys_its_own_cache_entries(provider: str) -> None:
    both = two_providers(IdentityBinding(mode="none"))
    flow = both.world.flow if provider == "default" else both.acme
    idp = both.world.provider if provider == "default" else both.acme_idp
    start = await flow.start("alice", RETURN, key_id=KEY_ID)
    await flow.finish_in_browser(start.state, code=idp.authorize(start.state))
    expected = "conn:alice" if provider == "default" else "conn:acme/alice"
    assert [k for k in both.world.cache.data if k.startswith("conn:")] == [expected]
