"""Builders of domain objects for tests (importable from any suite, unlike a conftest)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.aws import AwsCredentials
from connector.domain.models import ApiKey, Connection, ConnectionStatus, Scope, SealedTokens
from connector.domain.ports import Cipher

KeyMaker = Callable[..., Any]


def make_connection(user_id: str, cipher: Cipher, **overrides: Any) -> Connection:
    """A connection as the OAuth flow would store it, with sealed tokens."""
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "user_id": user_id,
        "status": ConnectionStatus.ACTIVE,
        "sub": f"sub-{user_id}",
        "username": user_id,
        "email": f"{user_id}@example.com",
        "scopes": ("openid", "email", "profile"),
        "identity_id": None,
        "tokens": SealedTokens(
            access_token=cipher.seal(f"access-token-of-{user_id}"),
            id_token=cipher.seal(f"id-token-of-{user_id}"),
            refresh_token=cipher.seal(f"refresh-token-of-{user_id}"),
        ),
        "issued_at": now,
        "expires_at": now + timedelta(hours=1),
        "last_refreshed_at": None,
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return Connection(**fields)


def make_api_key(key_id: str, name: str, **overrides: Any) -> ApiKey:
    """A stored API key (only a hash of a secret nobody holds)."""
    fields: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "key_hash": "ab" * 32,
        "scopes": frozenset({Scope.CONNECT}),
        "buckets": (),
        "functions": (),
        "read_only": False,
        "created_at": datetime(2026, 11, 20, tzinfo=UTC),
    }
    fields.update(overrides)
    return ApiKey(**fields)


def make_aws_credentials(**overrides: Any) -> AwsCredentials:
    """A user's temporary AWS credentials, an hour old and valid until 2030 unless told."""
    expiration = overrides.pop("expiration", datetime(2030, 1, 1, tzinfo=UTC))
    fields: dict[str, Any] = {
        "access_key_id": "ASIATESTUSER0001",
        "secret_access_key": "test-secret",
        "session_token": "test-session-token",
        "expiration": expiration,
        "identity_id": "us-east-1:00000000-0000-0000-0000-000000000001",
        "issued_at": expiration - timedelta(hours=1),
    }
    fields.update(overrides)
    return AwsCredentials(**fields)
