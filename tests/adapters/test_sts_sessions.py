"""STS session names: the user id when STS accepts it, else a keyed hash; always hashed when
asked (user ids that are emails must not reach ARNs and logs)."""

from __future__ import annotations

import re

import pytest

from connector.adapters.sts_sessions import session_name

KEY = b"k" * 32
STS_RULE = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


@pytest.mark.parametrize("user_id", ["alice", "alice@example.com", "u-1.2_3+x=y,z", "a" * 64])
def test_a_user_id_sts_accepts_is_the_session_name(user_id: str) -> None:
    assert session_name(user_id, key=KEY) == user_id


@pytest.mark.parametrize("user_id", ["a", "tenant:alice", "a" * 65, "élodie", "x y"])
def test_a_user_id_sts_refuses_is_hashed_with_the_key(user_id: str) -> None:
    name = session_name(user_id, key=KEY)
    assert STS_RULE.fullmatch(name)
    assert name.startswith("u-")
    assert name == session_name(user_id, key=KEY)  # stable across replicas and restarts
    assert name != session_name(user_id, key=b"another key")


def test_always_hash_hides_every_user_id() -> None:
    name = session_name("alice@example.com", key=KEY, always_hash=True)
    assert STS_RULE.fullmatch(name)
    assert "alice" not in name
    assert name != session_name("bob@example.com", key=KEY, always_hash=True)
