"""The sandbox's API key: every scope, re-issued at each start (older demo keys are revoked)."""

from __future__ import annotations

import itertools

from connector.bootstrap import build_container
from connector.domain.models import DEFAULT_SCOPES, Scope
from connector.settings import Settings

DEMO_KEY_NAME = "dev-demo"
DEMO_KEY_SCOPES = (*sorted(DEFAULT_SCOPES), Scope.TOKEN_READ, Scope.CREDENTIALS_READ)


def _is_demo(name: str) -> bool:
    return name == DEMO_KEY_NAME or name.startswith(f"{DEMO_KEY_NAME}-")


async def issue_demo_key(settings: Settings) -> tuple[str, str]:
    """Revoke earlier demo keys and create a new one; returns (name, raw key).

    Building the whole container first is also the pre-flight: a configuration the
    connector would refuse fails here, with one line, before anything is served.
    """
    container = await build_container(settings)
    try:
        service = container.services.api_keys
        keys = await service.list()
        for key in keys:
            if key.active and _is_demo(key.name):
                await service.revoke(key.id)
        # Revoked keys keep their names, and names are unique: take the first free one.
        taken = {key.name for key in keys}
        candidates = (
            f"{DEMO_KEY_NAME}-{n}" if n > 1 else DEMO_KEY_NAME for n in itertools.count(1)
        )
        name = next(c for c in candidates if c not in taken)
        _, raw_key = await service.create(name, scopes=DEMO_KEY_SCOPES)
    finally:
        await container.close()
    return name, raw_key
