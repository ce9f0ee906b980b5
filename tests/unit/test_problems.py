"""Validation messages kept, reworded or replaced, so that no value sent is ever echoed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import pytest

from connector.api.problems import INVALID_VALUE, Problem, problem_of, rule_of

SECRET = "SECRET-VALUE"


class Shape(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    method: Literal["GET", "PUT"] = "GET"
    level: Literal[1, 2] = 1
    expires_in: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 900
    name: Annotated[str, msgspec.Meta(max_length=8, pattern="^[a-z]+$")] = "a"
    tags: list[int] = msgspec.field(default_factory=list)


class Required(msgspec.Struct):
    bucket: str


def problem(raw: Any, shape: type = Shape) -> Problem:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(raw, shape)
    found = problem_of(caught.value)
    assert SECRET not in found.rule
    return found


def test_an_enum_is_reworded_without_the_value() -> None:
    assert problem({"method": SECRET}) == Problem(
        "method", "Invalid enum value: not one of the allowed values"
    )
    assert problem({"level": 7}).rule == "Invalid enum value: not one of the allowed values"


def test_types_bounds_lengths_and_patterns_keep_msgspecs_words() -> None:
    assert problem({"expiresIn": SECRET}) == Problem("expiresIn", "Expected `int`, got `str`")
    assert problem({"expiresIn": 0}) == Problem("expiresIn", "Expected `int` >= 1")
    assert problem({"name": SECRET.lower() * 2}) == Problem("name", "Expected `str` of length <= 8")
    assert problem({"name": "ABC"}) == Problem("name", "Expected `str` matching regex '^[a-z]+$'")
    assert problem({"tags": [SECRET]}) == Problem("tags[0]", "Expected `int`, got `str`")


def test_an_unknown_field_is_not_named() -> None:
    assert problem({SECRET: 1}) == Problem(None, "Object contains a field it does not take")


def test_a_missing_field_is_the_field() -> None:
    assert problem({}, Required) == Problem("bucket", "Object missing required field `bucket`")


@pytest.mark.parametrize(
    "message",
    [f"Invalid value '{SECRET}'", f"Unsupported type: {SECRET}", f"Expected `str`, got {SECRET}"],
)
def test_any_other_message_becomes_invalid_value(message: str) -> None:
    assert rule_of(message) == INVALID_VALUE
