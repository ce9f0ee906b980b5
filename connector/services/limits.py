"""Bounds of the numbers callers send (page sizes, expiries), checked before any call."""

from __future__ import annotations

from connector.errors import ValidationError


def require_between(value: int, low: int, high: int, *, field: str) -> int:
    """`value` if `low <= value <= high`, else VALIDATION_ERROR naming the wire field."""
    if isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"{field}: {low} to {high}", details={"field": field})
    return value
