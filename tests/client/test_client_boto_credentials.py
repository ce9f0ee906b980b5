"""boto3 as the user: credentials from /credentials that refresh themselves, also when their
lifetime is shorter than botocore's refresh windows; never the environment's keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from connector_client import ErrorCode, NotConnectedError
from connector_client.boto import boto3_session, refreshable_credentials, session_with
from connector_client.models import AwsCredentials
from support.client_harness import NO_JITTER, FakeConnector, Flavour, ok, refusal


def credentials(key: str, lifetime: timedelta, identity: str = "eu-west-1:id") -> AwsCredentials:
    return AwsCredentials(
        access_key_id=key,
        secret_access_key=f"secret-{key}",
        session_token=f"token-{key}",
        expiration=datetime.now(UTC) + lifetime,
        identity_id=identity,
    )


class Fetches:
    """A fetch function answering the given credentials in order, counting its calls."""

    def __init__(self, *answers: AwsCredentials) -> None:
        self.answers = list(answers)
        self.count = 0

    def __call__(self) -> AwsCredentials:
        self.count += 1
        return self.answers.pop(0)


def test_windows_follow_botocore_for_long_lives_and_shrink_for_short_ones() -> None:
    hour = refreshable_credentials(credentials("a", timedelta(hours=1)), Fetches())
    assert (hour._advisory_refresh_timeout, hour._mandatory_refresh_timeout) == (900, 600)
    moto = refreshable_credentials(credentials("a", timedelta(seconds=90)), Fetches())
    assert (moto._advisory_refresh_timeout, moto._mandatory_refresh_timeout) == (23, 15)


def test_short_lived_credentials_are_not_refreshed_on_every_call() -> None:
    fetch = Fetches()
    refreshing = refreshable_credentials(credentials("first", timedelta(seconds=90)), fetch)
    keys = {refreshing.get_frozen_credentials().access_key for _ in range(20)}
    assert (keys, fetch.count) == ({"first"}, 0)


def test_expired_credentials_are_replaced_once_then_kept() -> None:
    fetch = Fetches(credentials("fresh", timedelta(seconds=90)))
    refreshing = refreshable_credentials(credentials("old", -timedelta(seconds=1)), fetch)
    keys = [refreshing.get_frozen_credentials().access_key for _ in range(5)]
    assert (keys, fetch.count) == (["fresh"] * 5, 1)


def test_a_refresh_that_brings_expired_credentials_fails_instead_of_looping() -> None:
    fetch = Fetches(credentials("stale", -timedelta(seconds=5)))
    refreshing = refreshable_credentials(credentials("old", -timedelta(seconds=1)), fetch)
    with pytest.raises(RuntimeError, match="still expired"):
        refreshing.get_frozen_credentials()
    assert fetch.count == 1


def test_a_session_uses_only_its_own_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    refreshing = refreshable_credentials(credentials("ours", timedelta(hours=1)), Fetches())
    session = session_with(refreshing, "eu-central-1")
    assert session.get_credentials().get_frozen_credentials().access_key == "ours"
    assert session.region_name == "eu-central-1"


def wire(creds: AwsCredentials) -> dict[str, str]:
    return {
        "accessKeyId": creds.access_key_id,
        "secretAccessKey": creds.secret_access_key,
        "sessionToken": creds.session_token,
        "expiration": creds.expiration.isoformat().replace("+00:00", "Z"),
        "identityId": creds.identity_id,
    }


def test_boto3_session_fetches_now_and_takes_the_region_of_the_identity() -> None:
    first = credentials("k1", timedelta(hours=1), identity="ap-south-1:abc")
    flavour = Flavour("sync", FakeConnector(ok(wire(first))), NO_JITTER)
    session = boto3_session(flavour.client, "alice")
    assert [r.url.path for r in flavour.fake.requests] == ["/credentials"]
    assert flavour.fake.last.headers["x-user-id"] == "alice"
    assert session.region_name == "ap-south-1"
    assert session.get_credentials().get_frozen_credentials().token == "token-k1"
    assert boto3_session(flavour.client, "alice", region_name="us-west-2").region_name == (
        "us-west-2"
    )
    flavour.client.region = "eu-north-1"
    assert flavour.client.boto3_session("alice").region_name == "eu-north-1"


def test_boto3_session_for_a_user_without_a_connection_fails_at_once() -> None:
    flavour = Flavour("sync", FakeConnector(refusal(ErrorCode.NOT_CONNECTED)), NO_JITTER)
    with pytest.raises(NotConnectedError):
        boto3_session(flavour.client, "nobody")
