"""What the server checks of each input, stated for the OpenAPI document from the very constants
the guards and services check against (one source of truth), as JSON Schema keywords and as the
body-field types that carry them (the parameter types are in connector.api.parameters: this module
imports no web framework, so the CLI's `keys` commands print wire shapes without loading one).

Documentation only: enforcement stays where it is (guards, services), so the REST routes, JSON-RPC
and every other transport refuse the same inputs with the same envelopes. A new route takes its
inputs through these types (or states their constraints with `documented`), and the tests on
/schema/openapi.json and the schemathesis run hold the document to what the server does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from connector.domain.aws_names import (
    BUCKET_MAX,
    BUCKET_MIN,
    BUCKET_PATTERN,
    FUNCTION_IDENTIFIER_MAX,
    FUNCTION_PATTERN,
    KEY_MAX_BYTES,
)
from connector.domain.identifiers import USER_ID_PATTERN
from connector.domain.providers import PROVIDER_NAME
from connector.services.functions import MARKER_MAX, MAX_ITEMS
from connector.services.oauth_flow import LOGIN_HINT_PATTERN, STATE_PATTERN
from connector.services.s3 import CONTINUATION_TOKEN_MAX, MAX_KEYS, PRESIGN_MAX, PRESIGN_MIN


def pattern(regex: str) -> str:
    """A Python `fullmatch` pattern as a JSON Schema `pattern` (ECMAScript, `search` semantics):
    anchored at both ends, with named groups unnamed."""
    return "^(?:" + re.sub(r"\(\?P<\w+>", "(", regex) + ")$"


Constraints = dict[str, Any]

USER_ID: Constraints = {
    "pattern": pattern(USER_ID_PATTERN.pattern),
    "minLength": 1,
    "maxLength": 128,
}
BUCKET: Constraints = {
    "pattern": pattern(BUCKET_PATTERN),
    "minLength": BUCKET_MIN,
    "maxLength": BUCKET_MAX,
}
# S3 counts a key's UTF-8 bytes; a schema counts characters, so the byte rule is also in words.
OBJECT_KEY: Constraints = {"minLength": 1, "maxLength": KEY_MAX_BYTES}
PREFIX: Constraints = {"maxLength": KEY_MAX_BYTES}
DELIMITER: Constraints = {"minLength": 1, "maxLength": 1024}
CONTINUATION_TOKEN: Constraints = {"maxLength": CONTINUATION_TOKEN_MAX}
PAGE_SIZE_KEYS: Constraints = {"minimum": 1, "maximum": MAX_KEYS}
FUNCTION_NAME: Constraints = {
    "pattern": pattern(FUNCTION_PATTERN),
    "minLength": 1,
    "maxLength": FUNCTION_IDENTIFIER_MAX,
}
MARKER: Constraints = {"minLength": 1, "maxLength": MARKER_MAX}
PAGE_SIZE_FUNCTIONS: Constraints = {"minimum": 1, "maximum": MAX_ITEMS}
LOGIN_HINT: Constraints = {"pattern": pattern(LOGIN_HINT_PATTERN)}
FLOW_STATE: Constraints = {"pattern": pattern(STATE_PATTERN)}
PRESIGN_EXPIRY: Constraints = {"minimum": PRESIGN_MIN, "maximum": PRESIGN_MAX}
PROVIDER: Constraints = {"pattern": pattern(PROVIDER_NAME.pattern), "minLength": 1, "maxLength": 32}


def documented(constraints: Constraints, description: str | None = None) -> msgspec.Meta:
    """A body field's constraints, for Litestar's schema of a msgspec Struct (no enforcement)."""
    return msgspec.Meta(extra_json_schema={"extra": constraints, "description": description})


# Body fields.
BucketField = Annotated[str, documented(BUCKET, "An S3 bucket name")]
ObjectKeyField = Annotated[str, documented(OBJECT_KEY, "1 to 1024 bytes of UTF-8")]
FlowStateField = Annotated[str, documented(FLOW_STATE, "The flow's `state`")]
ConfirmationField = Annotated[
    str, documented(FLOW_STATE, "The one-time confirmation from the app's return URL")
]
PresignExpiryField = Annotated[int, documented(PRESIGN_EXPIRY, "Seconds, 1 to 3600")]
