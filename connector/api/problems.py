"""What failed in a request, told by field and rule, never by the value sent (it may be a
secret): msgspec's messages, which Litestar passes on, echo some values (`Invalid enum value
'…'`, `Object contains unknown field `…``). Messages of a known safe shape are kept, the two
that echo are reworded, anything else becomes a plain "Invalid value"."""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

# Shapes that carry only type names, bounds and patterns of the schema (ours, not the caller's).
_SAFE = (
    re.compile(r"Expected `[^`]+`, got `[^`]+`"),
    re.compile(r"Expected `[^`]+` (?:of length )?[<>]=? [0-9.e+-]+"),
    re.compile(r"Expected `[^`]+` that is a multiple of [0-9.e+-]+"),
    re.compile(r"Expected `str` matching regex '.*'"),
    re.compile(r"Object missing required field `[^`]+`"),
    re.compile(r"Invalid (?:RFC3339 encoded datetime|UUID|base64 encoded string|decimal string)"),
    re.compile(r"Integer value out of range"),
)
# Shapes that echo what was sent, with the rule they state instead.
_REWORDED = (
    (re.compile(r"Invalid enum value\b"), "Invalid enum value: not one of the allowed values"),
    (re.compile(r"Object contains unknown field\b"), "Object contains a field it does not take"),
)
INVALID_VALUE = "Invalid value"
_AT = re.compile(r" - at `\$\.?(?P<path>.*)`$")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


def rule_of(message: str) -> str:
    """The rule a validation message states, without any value it quoted."""
    message = _AT.sub("", message)
    if any(shape.fullmatch(message) for shape in _SAFE):
        return message
    for shape, rule in _REWORDED:
        if shape.match(message):
            return rule
    return INVALID_VALUE


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed field: where it is (`None` for the whole document) and the rule it broke."""

    field: str | None
    rule: str


def problem_of(error: msgspec.ValidationError) -> Problem:
    """The field (msgspec's path without `$.`, or the missing field's name) and the rule."""
    message = str(error)
    at = _AT.search(message)
    path = at["path"] if at else ""
    if missing := _MISSING.match(message):
        path = f"{path}.{missing['field']}" if path else missing["field"]
    return Problem(path or None, rule_of(message))
