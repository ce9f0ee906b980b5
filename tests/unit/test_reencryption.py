"""Reencryptor: rewrites under the primary key, counts, reports what no key opens, re-runs."""

from __future__ import annotations

import msgspec
from support.factories import make_connection
from support.fakes import FakeConnectionStore

from connector.adapters.crypto import FernetCipher, generate_key
from connector.domain.models import Connection
from connector.services.reencryption import Reencryptor


async def _seed(store: FakeConnectionStore, cipher: FernetCipher, *users: str) -> None:
    for user in users:
        await store.put(make_connection(user, cipher), expected_version=None)


async def test_rotation_then_reencrypt_rewrites_everything_under_the_new_key() -> None:
    old, new = generate_key(), generate_key()
    store = FakeConnectionStore()
    await _seed(store, FernetCipher((old,)), "alice", "bob")
    rotated = FernetCipher((new, old))

    report = await Reencryptor(store, rotated).run()

    assert (report.scanned, report.rewritten, report.current) == (2, 2, 0)
    assert report.failed == ()
    assert report.conflicted == ()
    only_new = FernetCipher((new,))
    for user in ("alice", "bob"):
        row = store.rows[user]
        assert only_new.open(row.tokens.refresh_token or "") == f"refresh-token-of-{user}"
        assert only_new.open(row.tokens.access_token) == f"access-token-of-{user}"
        assert row.version == 2


async def test_a_second_run_finds_everything_current_and_writes_nothing() -> None:
    old, new = generate_key(), generate_key()
    store = FakeConnectionStore()
    await _seed(store, FernetCipher((old,)), "alice")
    rotated = FernetCipher((new, old))
    await Reencryptor(store, rotated).run()
    writes = store.writes

    report = await Reencryptor(store, rotated).run()

    assert (report.scanned, report.rewritten, report.current) == (1, 0, 1)
    assert store.writes == writes


async def test_an_undecryptable_record_is_reported_and_kept_while_others_are_rewritten() -> None:
    old, new, lost = generate_key(), generate_key(), generate_key()
    store = FakeConnectionStore()
    await _seed(store, FernetCipher((old,)), "alice")
    await _seed(store, FernetCipher((lost,)), "mallory")
    before = store.rows["mallory"]

    report = await Reencryptor(store, FernetCipher((new, old))).run()

    assert report.failed == ("mallory",)
    assert report.rewritten == 1
    assert store.rows["mallory"] == before  # never dropped, never half-written


async def test_a_concurrent_write_during_the_run_is_reread_and_retried() -> None:
    old, new = generate_key(), generate_key()
    cipher_old = FernetCipher((old,))

    class RacingStore(FakeConnectionStore):
        """Another replica refreshes alice (still under the old key) just before our write."""

        raced = False

        async def put(self, connection: Connection, *, expected_version: int | None) -> Connection:
            if not self.raced and expected_version is not None:
                self.raced = True
                current = self.rows[connection.user_id]
                await super().put(
                    msgspec.structs.replace(current, email="new@example.com"),
                    expected_version=current.version,
                )
            return await super().put(connection, expected_version=expected_version)

    store = RacingStore()
    await _seed(store, cipher_old, "alice")

    report = await Reencryptor(store, FernetCipher((new, old))).run()

    assert report.rewritten == 1
    assert report.conflicted == ()
    row = store.rows["alice"]
    assert row.email == "new@example.com"  # the other replica's write survived
    assert FernetCipher((new,)).open(row.tokens.id_token) == "id-token-of-alice"


async def test_each_providers_connection_of_a_user_is_rewritten_and_reported_apart() -> None:
    old, new, lost = generate_key(), generate_key(), generate_key()
    store = FakeConnectionStore()
    await store.put(make_connection("alice", FernetCipher((old,))), expected_version=None)
    acme = msgspec.structs.replace(make_connection("alice", FernetCipher((old,))), provider="acme")
    await store.put(acme, expected_version=None)
    lost_one = make_connection("alice", FernetCipher((lost,)))
    await store.put(msgspec.structs.replace(lost_one, provider="globex"), expected_version=None)

    report = await Reencryptor(store, FernetCipher((new, old))).run()

    assert (report.scanned, report.rewritten) == (3, 2)
    assert report.failed == ("alice/globex",)
    only_new = FernetCipher((new,))
    for row in ("alice", "alice/acme"):
        assert only_new.open(store.rows[row].tokens.access_token) == "access-token-of-alice"
