"""The OAuth side of the services over honest fakes (no I/O): shared by the unit suites that
need a connected user (tokens, disconnect, credentials)."""

from __future__ import annotations

from dataclasses import dataclass

from connector.adapters.crypto import FernetCipher, generate_key
from connector.services.connections import ConnectionService
from connector.services.oauth_flow import OAuthFlowService
from connector.services.single_flight import DistributedLock
from connector.services.tokens import TokenService
from connector.services.tolerant_cache import TolerantCache
from connector.settings import FreshnessSettings, IdentityBinding
from support.fakes import (
    FakeCache,
    FakeConnectionStore,
    FakeIdentityProvider,
    FakeTokenVerifier,
    FixedClock,
)


@dataclass
class FakeOAuthWorld:
    clock: FixedClock
    store: FakeConnectionStore
    cache: FakeCache
    cipher: FernetCipher
    provider: FakeIdentityProvider
    verifier: FakeTokenVerifier
    connections: ConnectionService
    flow: OAuthFlowService
    tokens: TokenService
    return_url: str | None

    async def connect(
        self, user: str = "alice", sub: str = "sub-1", *, replace: bool = False
    ) -> None:
        """`user` completes a flow as Cognito user `sub` (binding `none`: no confirm step)."""
        start = await self.flow.start(user, self.return_url, key_id=KEY_ID, replace=replace)
        outcome = await self.flow.finish_in_browser(
            start.state, code=self.provider.authorize(start.state, sub)
        )
        assert outcome.error is None, outcome.error


KEY_ID = "0123456789abcdef"
"""The id of the API key that starts the fake world's flows."""


def make_fake_oauth_world(
    *,
    rotate: bool = False,
    token_lifetime: int = 3600,
    return_url: str | None = None,
    binding: IdentityBinding | None = None,
) -> FakeOAuthWorld:
    clock = FixedClock()
    store, cache = FakeConnectionStore(), FakeCache(clock)
    cipher = FernetCipher((generate_key(),))
    provider = FakeIdentityProvider(clock, lifetime=token_lifetime, rotate=rotate)
    verifier = FakeTokenVerifier(clock)
    connections = ConnectionService(store, TolerantCache(cache), cipher, clock)
    flow = OAuthFlowService(
        provider=provider, verifier=verifier, connections=connections, cache=cache,
        cipher=cipher, clock=clock, redirect_allowlist=(return_url,) if return_url else (),
        binding=binding or IdentityBinding(mode="none"),
    )  # fmt: skip
    tokens = TokenService(
        connections=connections, provider=provider, verifier=verifier,
        lock=DistributedLock(cache, poll=0.001), clock=clock, windows=FreshnessSettings(),
    )  # fmt: skip
    return FakeOAuthWorld(
        clock, store, cache, cipher, provider, verifier, connections, flow, tokens, return_url
    )
