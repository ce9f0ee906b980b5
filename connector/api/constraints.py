"""What the server checks of each input, stated for the OpenAPI document from the very constants
the guards and services check against (one source of truth), as JSON Schema keywords and as the
parameter and body-field types that carry them.

Documentation only: enforcement stays where it is (guards, services), so the REST routes, JSON-RPC
and every other transport refuse the same inputs with the same envelopes. A new route takes its
inputs through these types (or states their constraints with `documented`), and the tests on
/schema/openapi.json and the schemathesis run hold the document to what the server does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar.params import HeaderParameter, PathParameter, QueryParameter

from connector.api.guards import USER_ID_HEADER
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


# Parameters. X-User-Id is read and validated by a guard before any parameter is parsed
# (connector.api.guards): these declare it for the document.
UserIdHeader = Annotated[
    str,
    HeaderParameter(
        name=USER_ID_HEADER,
        description="The user to act for: 1-128 characters of A-Z a-z 0-9 . _ @ : + -",
        schema_extra=USER_ID,
        required=True,
    ),
]
ProviderQuery = Annotated[
    str | None,
    QueryParameter(
        name="provider",
        description="The Cognito provider to act on (CONNECTOR_PROVIDERS_FILE); absent: the "
        "default provider. Unknown, or absent while several are configured without a default: "
        "VALIDATION_ERROR naming the choices; outside the key's providers: FORBIDDEN.",
        schema_extra=PROVIDER,
    ),
]
OptionalUserIdHeader = Annotated[
    str | None,
    HeaderParameter(
        name=USER_ID_HEADER,
        description="The app's signed-in user (required unless the identity binding is `none`)",
        schema_extra=USER_ID,
    ),
]
UserIdPath = Annotated[
    str,
    PathParameter(
        description="The user: 1-128 characters of A-Z a-z 0-9 . _ @ : + -", schema_extra=USER_ID
    ),
]
"""For a route that names the user in its path (validated with `parse_user_id`)."""
BucketPath = Annotated[
    str, PathParameter(description="An S3 bucket name (S3's naming rules)", schema_extra=BUCKET)
]
ObjectKeyPath = Annotated[
    str,
    PathParameter(
        description=f"The object key, 1 to {KEY_MAX_BYTES} bytes of UTF-8, exactly as sent "
        "(slashes, trailing slash and `//` included)",
        schema_extra=OBJECT_KEY,
    ),
]
FunctionNamePath = Annotated[
    str,
    PathParameter(
        description="A function name, ARN or partial ARN, optionally with :version or :alias",
        schema_extra=FUNCTION_NAME,
    ),
]
RangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Range",
        description="One byte range: bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX (206). "
        "Anything else (several ranges, other units, a range that ends before it starts) is "
        "ignored, as RFC 9110 allows: the whole object is sent (200).",
    ),
]
PrefixQuery = Annotated[
    str | None,
    QueryParameter(description=f"At most {KEY_MAX_BYTES} bytes of UTF-8", schema_extra=PREFIX),
]
DelimiterQuery = Annotated[str | None, QueryParameter(schema_extra=DELIMITER)]
MaxKeysQuery = Annotated[
    int, QueryParameter(name="maxKeys", description="1 to 1000", schema_extra=PAGE_SIZE_KEYS)
]
ContinuationTokenQuery = Annotated[
    str | None,
    QueryParameter(
        name="continuationToken",
        description="`nextContinuationToken` of the previous page",
        schema_extra=CONTINUATION_TOKEN,
    ),
]
MarkerQuery = Annotated[
    str | None,
    QueryParameter(description="`nextMarker` of the previous page", schema_extra=MARKER),
]
MaxItemsQuery = Annotated[
    int,
    QueryParameter(
        name="maxItems",
        description=f"1 to {MAX_ITEMS} (Lambda sends at most 50)",
        schema_extra=PAGE_SIZE_FUNCTIONS,
    ),
]
LoginHintQuery = Annotated[
    str | None,
    QueryParameter(
        name="loginHint",
        description="Pre-fills the Hosted UI's username (Cognito's `login_hint`): 1-256 "
        "characters without control characters.",
        schema_extra=LOGIN_HINT,
    ),
]

# Body fields.
BucketField = Annotated[str, documented(BUCKET, "An S3 bucket name")]
ObjectKeyField = Annotated[str, documented(OBJECT_KEY, "1 to 1024 bytes of UTF-8")]
FlowStateField = Annotated[str, documented(FLOW_STATE, "The flow's `state`")]
ConfirmationField = Annotated[
    str, documented(FLOW_STATE, "The one-time confirmation from the app's return URL")
]
PresignExpiryField = Annotated[int, documented(PRESIGN_EXPIRY, "Seconds, 1 to 3600")]
