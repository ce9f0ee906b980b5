"""Provider names: which Cognito set-up a connection, a flow or a cache entry belongs to."""

from __future__ import annotations

import re

from connector.errors import ValidationError

DEFAULT_PROVIDER = "default"
"""The provider the `AWS_COGNITO_*` variables define, and the one every record written before
providers existed belongs to (a reserved name: a providers file may not define it)."""
PROVIDER_NAME = re.compile(r"[a-z0-9-]{1,32}")


def is_provider_name(text: str) -> bool:
    return PROVIDER_NAME.fullmatch(text) is not None


def resolve_provider(
    requested: str | None, configured: tuple[str, ...], default: str | None
) -> str:
    """The provider a request acts on: the one named, else the default. VALIDATION_ERROR for an
    unknown name, or for none when several are configured and none is the default (the error
    names the choices)."""
    choices = ", ".join(configured) or "(none configured)"
    if requested is None:
        if default is not None:
            return default
        if len(configured) == 1:
            return configured[0]
        raise ValidationError(
            f"several providers are configured and none is the default: name one of {choices}",
            details={"field": "provider", "choices": list(configured)},
        )
    if requested not in configured:
        raise ValidationError(
            f"unknown provider: choose one of {choices}",
            details={"field": "provider", "choices": list(configured)},
        )
    return requested


def scoped(kind: str, user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    """The name of a user's entry of `kind` (cache keys, locks, in-process entries) under one
    provider. The default provider keeps the names used before providers existed; another
    provider puts its name before a `/`, which no user id contains, so no two collide."""
    if provider == DEFAULT_PROVIDER:
        return f"{kind}:{user_id}"
    return f"{kind}:{provider}/{user_id}"
