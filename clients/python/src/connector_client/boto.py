"""boto3 acting as a user: a Session whose credentials come from the connector's /credentials
and refresh themselves before they expire. The only module of the client that imports boto3.

    session = client.boto3_session("alice")
    session.client("s3").list_buckets()      # plain boto3, as alice
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from boto3 import Session
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.session import Session as BotocoreSession

from connector_client.models import AwsCredentials

if TYPE_CHECKING:
    from connector_client.sync import ConnectorClient

__all__ = ["Session", "boto3_session", "refreshable_credentials"]

# botocore's own refresh windows; the connector's are the last quarter and sixth of a lifetime.
ADVISORY = timedelta(minutes=15)
MANDATORY = timedelta(minutes=10)
# Whatever the first credentials say, refresh at least this long before an expiry.
FLOOR = timedelta(seconds=5)


def boto3_session(
    client: ConnectorClient,
    user_id: str,
    *,
    region_name: str | None = None,
    provider: str | None = None,
) -> Session:
    """A boto3 Session acting as `user_id` through `provider` (None: the default provider). The
    first credentials are fetched now (so a user without a connection fails here, with
    NotConnectedError); later ones when botocore asks. The region is `region_name`, else the
    client's, else that of the user's identity pool."""
    first = client.get_credentials(user_id, provider=provider)
    credentials = refreshable_credentials(
        first, lambda: client.get_credentials(user_id, provider=provider)
    )
    region = region_name or client.region or first.identity_id.partition(":")[0] or None
    return session_with(credentials, region)


def refreshable_credentials(
    first: AwsCredentials,
    fetch: Callable[[], AwsCredentials],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RefreshableCredentials:
    """Credentials that call `fetch` when they near their expiry.

    botocore refreshes 15 minutes (advisory) and 10 minutes (mandatory) before expiry. Shorter
    lifetimes (an emulator's 90 s) would be inside those windows from the start and refresh on
    every call, so the windows shrink to a quarter and a sixth of the first credentials' remaining
    life (never under FLOOR): no wider than the connector's own, which serves nothing in the
    last sixth of a lifetime, so a refresh always brings credentials outside the windows.
    """
    remaining = first.expiration - now()
    return RefreshableCredentials.create_from_metadata(
        metadata=_metadata(first),
        refresh_using=lambda: _metadata(fetch()),
        method="connector",
        advisory_timeout=_seconds(min(ADVISORY, max(remaining / 4, FLOOR))),
        mandatory_timeout=_seconds(min(MANDATORY, max(remaining / 6, FLOOR))),
    )


def _seconds(window: timedelta) -> int:
    return math.ceil(window.total_seconds())


def session_with(credentials: RefreshableCredentials, region_name: str | None) -> Session:
    """A boto3 Session with these credentials and nothing else: never the environment's keys,
    a profile or instance metadata (a credential resolver with this one provider)."""
    core = BotocoreSession()
    core.register_component("credential_provider", CredentialResolver([_Provider(credentials)]))
    return boto3.Session(botocore_session=core, region_name=region_name)


class _Provider(CredentialProvider):
    METHOD = "connector"
    CANONICAL_NAME = "custom-connector"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _metadata(credentials: AwsCredentials) -> dict[str, Any]:
    return {
        "access_key": credentials.access_key_id,
        "secret_key": credentials.secret_access_key,
        "token": credentials.session_token,
        "expiry_time": credentials.expiration.isoformat(),
    }
