"""AWS's naming rules for S3 buckets and keys and Lambda function identifiers (pure checks)."""

from __future__ import annotations

import re
from collections.abc import Callable

from connector.errors import ValidationError

BUCKET_MIN, BUCKET_MAX = 3, 63
KEY_MAX_BYTES = 1024
FUNCTION_NAME_MAX = 64
# The API model's limit for the whole identifier (a full ARN with a qualifier).
FUNCTION_IDENTIFIER_MAX = 256

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
# Reserved by S3 for IDNs, internal use and access-point / Object Lambda aliases.
_RESERVED_PREFIXES = ("xn--", "sthree-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3")
_BUCKET_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda b: BUCKET_MIN <= len(b) <= BUCKET_MAX, f"{BUCKET_MIN} to {BUCKET_MAX} characters"),
    (
        lambda b: _BUCKET.fullmatch(b) is not None,
        "lowercase letters, digits, dots and hyphens; first and last a letter or digit",
    ),
    (lambda b: ".." not in b, "no two adjacent dots"),
    (lambda b: not _IP_ADDRESS.fullmatch(b), "must not be formatted as an IP address"),
    (
        lambda b: not b.startswith(_RESERVED_PREFIXES),
        f"must not start with {' or '.join(_RESERVED_PREFIXES)}",
    ),
    (
        lambda b: not b.endswith(_RESERVED_SUFFIXES),
        f"must not end with {' or '.join(_RESERVED_SUFFIXES)}",
    ),
)
# Every rule above as one regular expression (lookaheads, valid in Python and in ECMAScript),
# for the OpenAPI document: tests/unit/test_aws_names.py holds the two to the same answers.
BUCKET_PATTERN = (
    r"(?!xn--|sthree-)(?!.*\.\.)(?!\d{1,3}(?:\.\d{1,3}){3}$)(?!.*(?:-s3alias|--ol-s3)$)"
    rf"[a-z0-9][a-z0-9.-]{{{BUCKET_MIN - 2},{BUCKET_MAX - 2}}}[a-z0-9]"
)
# One byte range as S3 serves it.
_RANGE = re.compile(r"bytes=(?:(\d+)-(\d*)|-\d+)")

# The three forms Lambda documents for GetFunction and Invoke (a name, a full ARN, a partial ARN
# `ACCOUNT:function:NAME`), each with an optional version or alias. Narrower than the API model's
# regular expression, which also admits shapes such as `arn::lambda:f` that no function has (and
# on which the emulator fails with a 500). The name is at most 64 characters, the whole at most
# 256.
FUNCTION_PATTERN = (
    r"(arn:aws[a-zA-Z-]*:lambda:(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d):"
    r"\d{12}:function:|(?P<account>\d{12}):function:)?"
    rf"(?P<name>[a-zA-Z0-9_.-]{{1,{FUNCTION_NAME_MAX}}})"
    r"(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9_-]{1,128}))?"
)
_FUNCTION = re.compile(FUNCTION_PATTERN)


def validate_bucket_name(bucket: str) -> str:
    """Return `bucket` if it follows S3's general-purpose bucket naming rules, else raise."""
    for follows, rule in _BUCKET_RULES:
        if not follows(bucket):
            raise ValidationError(f"invalid bucket name: {rule}", details={"field": "bucket"})
    return bucket


def validate_object_key(key: str) -> str:
    """Return `key` if it is 1 to 1024 bytes of UTF-8, else raise."""
    if not 1 <= _utf8_size(key, "key", "object key") <= KEY_MAX_BYTES:
        raise ValidationError(
            f"invalid object key: must be 1 to {KEY_MAX_BYTES} bytes of UTF-8",
            details={"field": "key"},
        )
    return key


def validate_prefix(prefix: str) -> str:
    """Return a listing prefix if it is at most 1024 bytes of UTF-8 (it may be empty)."""
    if _utf8_size(prefix, "prefix", "prefix") > KEY_MAX_BYTES:
        raise ValidationError(
            f"invalid prefix: at most {KEY_MAX_BYTES} bytes of UTF-8", details={"field": "prefix"}
        )
    return prefix


def _utf8_size(value: str, field: str, label: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from a percent-decoded path) are not UTF-8.
        raise ValidationError(
            f"invalid {label}: must be valid UTF-8", details={"field": field}
        ) from None


def validate_function_name(name: str) -> str:
    """Return `name` if it is a Lambda function name, ARN or partial ARN (optionally with a
    version or alias) that the Lambda API accepts, else raise."""
    matched = _FUNCTION.fullmatch(name) if len(name) <= FUNCTION_IDENTIFIER_MAX else None
    if matched is None:
        raise ValidationError(
            "invalid function name: expected a name (1 to "
            f"{FUNCTION_NAME_MAX} letters, digits, hyphens, underscores, dots), an ARN or a "
            "partial ARN, optionally with :version or :alias",
            details={"field": "name"},
        )
    return name


def served_range(header: str) -> str | None:
    """The one byte range of an HTTP Range header that S3 will serve, or None: a header that is
    not one well-formed byte range (other units, several ranges, a range that ends before it
    starts, no range at all) is ignored, as RFC 9110 (section 14.2) allows, and the whole object
    is sent. Nginx and S3 itself do the same with the several ranges S3 cannot serve."""
    matched = _RANGE.fullmatch(header.strip())
    if matched is None:
        return None
    first, last = matched.groups()
    if first is not None and last and int(last) < int(first):
        return None
    return matched.group(0)


def function_name_of(identifier: str) -> str:
    """The bare function name inside a name, ARN or partial ARN: what key policies match, so
    `--function 'reports-*'` covers `reports-daily`, `reports-daily:prod` and its full ARN."""
    matched = _FUNCTION.fullmatch(validate_function_name(identifier))
    if matched is None:  # validate_function_name has just matched the same pattern
        raise ValidationError("invalid function name", details={"field": "name"})
    return matched["name"]


def function_region_of(identifier: str) -> str | None:
    """The region a function ARN names, or None (a name or a partial ARN names none)."""
    matched = _FUNCTION.fullmatch(validate_function_name(identifier))
    return matched["region"] if matched else None


def partial_arn_account_of(identifier: str) -> str | None:
    """The account of a partial ARN (`123456789012` in `123456789012:function:f`), or None."""
    matched = _FUNCTION.fullmatch(validate_function_name(identifier))
    return matched["account"] if matched else None


# Sent to S3 as a header: printable ASCII only, so nothing can break out of it.
CONTENT_TYPE_PATTERN = r"[\x20-\x7e]{1,255}"
_CONTENT_TYPE = re.compile(CONTENT_TYPE_PATTERN)


def validate_content_type(content_type: str) -> str:
    """Return a Content-Type that can travel as an S3 header, else raise."""
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValidationError(
            "invalid content type: 1 to 255 printable ASCII characters",
            details={"field": "contentType"},
        )
    return content_type
