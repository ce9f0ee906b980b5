"""Provider names: resolution of the provider a request acts on, the names of per-provider
entries, and the S3 store's object names."""

from __future__ import annotations

import pytest

from connector.adapters.s3_store.layout import CONNECTIONS, connection_id, encode_name
from connector.domain.providers import resolve_provider, scoped
from connector.errors import ValidationError

BOTH = ("acme", "default")


def test_no_provider_means_the_default() -> None:
    assert resolve_provider(None, BOTH, "default") == "default"


def test_a_named_provider_is_that_provider() -> None:
    assert resolve_provider("acme", BOTH, "default") == "acme"


def test_one_provider_without_a_default_is_the_one() -> None:
    assert resolve_provider(None, ("acme",), None) == "acme"


def test_several_providers_without_a_default_need_a_name() -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_provider(None, ("acme", "globex"), None)
    assert "name one of acme, globex" in caught.value.message
    assert caught.value.details == {"field": "provider", "choices": ["acme", "globex"]}


@pytest.mark.parametrize("name", ["nope", "ACME", "", "acme/x", "default "])
def test_an_unknown_provider_is_refused_naming_the_choices(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_provider(name, BOTH, "default")
    assert "acme, default" in caught.value.message


def test_the_default_providers_entries_keep_their_names_and_others_never_collide() -> None:
    assert scoped("conn", "alice") == "conn:alice"
    assert scoped("lock:refresh", "alice", "default") == "lock:refresh:alice"
    assert scoped("conn", "alice", "acme") == "conn:acme/alice"
    # A user id may hold ':' but never '/': "acme:alice" of the default is not alice of acme.
    assert scoped("conn", "acme:alice") != scoped("conn", "alice", "acme")


def test_s3_connection_names_round_trip_and_refuse_foreign_names() -> None:
    for user, provider in (("alice", "default"), ("alice", "acme"), ("a.b@c:d+e-f", "x-1")):
        record = connection_id(user, provider)
        assert CONNECTIONS.decode(CONNECTIONS.encode(record)) == record
    assert CONNECTIONS.encode(connection_id("alice", "default")) == encode_name("alice")
    assert CONNECTIONS.decode(f"{encode_name('alice')}-default") is None
    assert CONNECTIONS.decode(f"{encode_name('alice')}-Not_A_Name") is None
    assert CONNECTIONS.decode("not base32hex!") is None
