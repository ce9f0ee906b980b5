"""What every benchmark starts from: alice's stored connection and an API key to act for her."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connector.domain.models import Connection, ConnectionStatus, SealedTokens

_UNREACHED = ", ".join(f"{c}=100000000/day" for c in ("connect", "read", "write", "credentials"))
UNREACHED_LIMITS = {
    "CONNECTOR_RATE_LIMITS_PER_KEY": _UNREACHED,
    "CONNECTOR_RATE_LIMITS_PER_USER": _UNREACHED,
}
"""Rate limits no benchmark reaches: every request is still counted (that cost is measured),
none is refused."""


async def seed_alice(container: Any, *, identity_id: str | None = None) -> dict[str, str]:
    """Store alice's connection (tokens sealed, valid for an hour) and create a key with the
    default scopes; return the headers of a request made for her."""
    now = container.clock.now()
    seal = container.cipher.seal
    tokens = SealedTokens(access_token=seal("a"), id_token=seal("i"), refresh_token=seal("r"))
    connection = Connection(
        user_id="alice",
        status=ConnectionStatus.ACTIVE,
        sub="s",
        username="alice",
        email=None,
        scopes=("openid",),
        identity_id=identity_id,
        tokens=tokens,
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        last_refreshed_at=None,
        created_at=now,
        updated_at=now,
    )
    await container.store.put(connection, expected_version=None)
    _, key = await container.services.api_keys.create("bench")
    return {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
