"""The s3:// store's layout: URL normalization and the user-id -> object-key encoding."""

from __future__ import annotations

import random

import pytest

from connector.adapters.s3_store.layout import (
    S3Layout,
    decode_name,
    encode_name,
    id_of,
    object_key,
)
from connector.errors import ConfigurationError

FOLDER = "tenant/connections/"
TRICKY_IDS = [
    "alice",
    "Alice",
    "ALICE",
    "",
    ".",
    "..",
    "../../api-keys/x",
    "a/b",
    "%2e%2e",
    "a.b_c@d:e+f-g",
    "名前",
    "\x00\n",
    "x" * 128,
]


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my-bucket/connector", "my-bucket", "connector/"),
        ("s3://my-bucket/connector/", "my-bucket", "connector/"),
        ("s3://my.bucket/team/prod/connector", "my.bucket", "team/prod/connector/"),
    ],
)
def test_urls_with_or_without_a_trailing_slash_name_the_same_store(
    url: str, bucket: str, prefix: str
) -> None:
    assert S3Layout.from_url(url) == S3Layout(bucket, prefix)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("s3://", "s3://bucket/prefix/"),
        ("s3://My_Bucket/p", "invalid bucket name"),
        ("s3://ab/p", "3 to 63 characters"),
        ("s3://bucket/a//b", "empty, '.' or '..'"),
        ("s3://bucket/a/../b", "empty, '.' or '..'"),
        ("s3://bucket/./b", "empty, '.' or '..'"),
        ("s3://key:secret@bucket/p", "no credentials"),
        ("s3://bucket:9000/p", "no credentials, port"),
        ("s3://bucket/p?versioning=1", "query"),
        ("s3://bucket/" + "p" * 600, "over 512 bytes"),
    ],
)
def test_malformed_urls_are_refused_naming_the_variable(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        S3Layout.from_url(url)
    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    assert problem in raised.value.problem
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("user_id", TRICKY_IDS)
def test_every_id_maps_to_one_key_inside_its_folder_and_back(user_id: str) -> None:
    key = object_key(FOLDER, user_id)

    assert key.startswith(FOLDER)
    assert key.endswith(".json")
    name = key.removeprefix(FOLDER)
    assert "/" not in name
    assert id_of(FOLDER, key) == user_id


def test_ids_differing_only_in_case_get_keys_differing_whatever_the_case() -> None:
    # A case-insensitive S3-compatible backend must not merge two users.
    keys = {object_key(FOLDER, user_id).lower() for user_id in ("alice", "Alice", "ALICE")}
    assert len(keys) == 3


def test_distinct_ids_never_share_a_key() -> None:
    ids = {*TRICKY_IDS, *(_random_id(random.Random(seed)) for seed in range(2000))}
    assert len({object_key(FOLDER, user_id) for user_id in ids}) == len(ids)


def test_key_order_is_the_byte_order_of_the_ids() -> None:
    # ListObjectsV2 returns keys in UTF-8 byte order; iterate promises user ids in byte order.
    rng = random.Random(11)
    ids = list({_random_id(rng) for _ in range(3000)} | set(TRICKY_IDS))
    by_key = sorted(ids, key=lambda user_id: object_key(FOLDER, user_id).encode())
    assert by_key == sorted(ids, key=lambda user_id: user_id.encode())


@pytest.mark.parametrize(
    "key",
    [
        "tenant/connections/README",
        "tenant/connections/c5h66.json",  # lower case: never written
        "tenant/connections/C5H67.json",  # non-canonical trailing bits would alias "abc"
        "tenant/connections/C5H66===.json",
        "tenant/connections/sub/C5H66.json",
        "tenant/api-keys/C5H66.json",
    ],
)
def test_foreign_object_names_stand_for_no_id(key: str) -> None:
    assert encode_name("abc") == "C5H66"
    assert id_of(FOLDER, key) is None


def test_decoding_a_name_of_invalid_utf8_is_none() -> None:
    assert decode_name("VO") is None  # the single byte 0xFE


def test_an_id_too_long_for_an_s3_key_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        object_key(FOLDER, "x" * 700)


def _random_id(rng: random.Random) -> str:
    alphabet = "aAzZ09._@:+-/ \u00e9\u4e2d\U0001f600"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
