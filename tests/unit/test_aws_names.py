"""AWS naming rules: bucket names, object keys, Lambda function identifiers, byte ranges."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.domain.aws_names import (
    BUCKET_PATTERN,
    FUNCTION_PATTERN,
    served_range,
    validate_bucket_name,
    validate_function_name,
    validate_object_key,
)
from connector.errors import ValidationError


@pytest.mark.parametrize(
    "name",
    ["abc", "my-bucket", "my.bucket.2024", "a" * 63, "0bucket9", "xn-single-hyphen", "s3alias"],
)
def test_bucket_names_following_the_rules_are_accepted(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("", "3 to 63"),
        ("My-Bucket", "lowercase"),
        ("my_bucket", "lowercase"),
        ("-bucket", "first and last"),
        ("bucket-", "first and last"),
        (".bucket", "first and last"),
        ("my..bucket", "adjacent dots"),
        ("192.168.5.4", "IP address"),
        ("xn--bucket", "must not start"),
        ("sthree-bucket", "must not start"),
        ("bucket-s3alias", "must not end"),
        ("bucket--ol-s3", "must not end"),
        ("bucket name", "lowercase"),
    ],
)
def test_bucket_names_breaking_a_rule_are_refused_naming_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as raised:
        validate_bucket_name(name)
    assert raised.value.details == {"field": "bucket"}


@pytest.mark.parametrize("key", ["a", "dir/sub/file.txt", "é" * 512, "x" * 1024, " spaced "])
def test_object_keys_of_1_to_1024_utf8_bytes_are_accepted(key: str) -> None:
    assert validate_object_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 1025, "é" * 513, "bad\udcff"])
def test_object_keys_that_are_empty_too_long_or_not_utf8_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="object key"):
        validate_object_key(key)


@pytest.mark.parametrize(
    "name",
    [
        "my-function",
        "my_function.v2",
        "my-function:PROD",
        "my-function:$LATEST",
        "my-function:7",
        "123456789012:function:my-function",
        "arn:aws:lambda:us-west-2:123456789012:function:my-function",
        "arn:aws:lambda:us-west-2:123456789012:function:my-function:PROD",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f",
        "f" * 64,
        "arn:aws:lambda:us-east-1:123456789012:function:" + "f" * 64,
    ],
)
def test_function_names_arns_and_partial_arns_are_accepted(name: str) -> None:
    assert validate_function_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "f" * 65,
        "arn:aws:lambda:us-east-1:123456789012:function:" + "f" * 65 + ":prod",
        "my function",
        "my/function",
        "my-function:",
        "my-function:a:b",
        "arn:aws:s3:::bucket",
        "fn:" + "q" * 300,
    ],
)
def test_function_names_outside_the_api_pattern_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="function name") as raised:
        validate_function_name(name)
    assert raised.value.details == {"field": "name"}


@pytest.mark.parametrize("header", ["bytes=5-9", "bytes=0-", "bytes=-100", "bytes=7-7"])
def test_a_single_byte_range_is_accepted(header: str) -> None:
    assert served_range(header) == header


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=1-2,4-5", "items=0-1", "bytes=-", "5-9", "0", "bytes=9-5"]
)
def test_a_header_that_is_not_one_byte_range_is_ignored_as_rfc_9110_allows(header: str) -> None:
    assert served_range(header) is None


_BUCKET_SHAPES = st.one_of(
    st.from_regex(r"\A[a-z0-9.-]{1,66}\Z"),
    st.sampled_from(["xn--ab", "sthree-ab", "ab-s3alias", "ab--ol-s3", "1.2.3.4", "a..b", "a.b"]),
)


@settings(max_examples=500, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(_BUCKET_SHAPES)
def test_the_published_bucket_pattern_says_what_the_bucket_rules_say(name: str) -> None:
    published = re.fullmatch(BUCKET_PATTERN, name) is not None
    try:
        validate_bucket_name(name)
    except ValidationError:
        assert not published, name
    else:
        assert published, name


@pytest.mark.parametrize(
    "name", ["f", "f" * 64, "f:prod", "arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST"]
)
def test_the_published_function_pattern_accepts_what_the_validator_accepts(name: str) -> None:
    assert re.fullmatch(FUNCTION_PATTERN, name)
    assert validate_function_name(name) == name
