"""Validation of the identifiers callers send: user ids now, AWS names as operations arrive."""

from __future__ import annotations

import re

from connector.errors import MissingUserIdError, ValidationError

USER_ID_PATTERN = re.compile(r"[A-Za-z0-9._@:+\-]{1,128}")


def parse_user_id(raw: str | None) -> str:
    """The user id as sent, or MISSING_USER_ID (absent/empty) / VALIDATION_ERROR (malformed)."""
    if raw is None or raw == "":
        raise MissingUserIdError("X-User-Id is required: name the user to act for")
    if not USER_ID_PATTERN.fullmatch(raw):
        raise ValidationError(
            "X-User-Id must be 1-128 characters of A-Z a-z 0-9 . _ @ : + -",
            details={"field": "userId"},
        )
    return raw
