"""The parameter types of the routes: each declares, for the OpenAPI document, the constraints
connector.api.constraints states from the validators' own constants (documentation only: guards
and services enforce them)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter, PathParameter, QueryParameter

from connector.api.constraints import (
    BUCKET,
    CONTINUATION_TOKEN,
    DELIMITER,
    FUNCTION_NAME,
    LOGIN_HINT,
    MARKER,
    OBJECT_KEY,
    PAGE_SIZE_FUNCTIONS,
    PAGE_SIZE_KEYS,
    PREFIX,
    PROVIDER,
    USER_ID,
)
from connector.api.guards import USER_ID_HEADER
from connector.domain.aws_names import KEY_MAX_BYTES
from connector.services.functions import MAX_ITEMS

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
