"""The nesting measure run on every JSON body before it is decoded."""

from __future__ import annotations

import json

import pytest

from connector.domain.json_depth import MAX_JSON_DEPTH, nests_deeper_than


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


@pytest.mark.parametrize("depth", [1, 5, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_documents_up_to_the_limit_pass(depth: int) -> None:
    assert not nests_deeper_than(nested(depth))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_documents_past_the_limit_are_caught(depth: int) -> None:
    assert nests_deeper_than(nested(depth))


def test_objects_and_arrays_count_alike() -> None:
    deep = ('{"a":' * 70 + "[" * 70 + "0" + "]" * 70 + "}" * 70).encode()
    assert nests_deeper_than(deep)
    assert not nests_deeper_than(('{"a":' * 60 + "[" * 60 + "0" + "]" * 60 + "}" * 60).encode())


def test_openers_that_are_never_closed_are_caught() -> None:
    assert nests_deeper_than(b"[" * 100_000)
    assert nests_deeper_than(b'{"a":' * 200)


def test_brackets_inside_strings_do_not_count() -> None:
    texts = ["[" * 5000, "{" * 5000, 'quote \\" then [[[[' * 100, "\\\\" + "[" * 500]
    assert not nests_deeper_than(json.dumps({"texts": texts}).encode())


def test_an_escaped_backslash_before_a_quote_ends_the_string() -> None:
    # "\\" is a backslash, then the string ends: the brackets after it are structure.
    document = b'["\\\\", ' + nested(MAX_JSON_DEPTH) + b"]"
    assert nests_deeper_than(document)
    assert not nests_deeper_than(b'["\\\\", ' + nested(MAX_JSON_DEPTH - 1) + b"]")


def test_many_shallow_containers_are_not_deep() -> None:
    assert not nests_deeper_than(json.dumps([[i, {"k": [i]}] for i in range(100_000)]).encode())
