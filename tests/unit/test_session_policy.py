"""The session policy of a restricted key: hand-written expectations for every glob form, the
limits IAM and STS set, and parliament's lint of what is generated."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.factories import make_api_key
from support.iam_lint import findings

from connector.domain.session_policy import (
    MAX_POLICY_CHARS,
    PolicyTranslationError,
    session_policy,
    session_policy_of,
)

READ_BUCKET = ["s3:ListBucket", "s3:GetBucketLocation"]
WRITE_BUCKET = [*READ_BUCKET, "s3:ListBucketMultipartUploads"]
READ_OBJECT = ["s3:GetObject"]
WRITE_OBJECT = [
    *READ_OBJECT,
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
READ_FUNCTION = ["lambda:GetFunction", "lambda:GetFunctionConfiguration"]


def statements(document: str) -> dict[str, dict[str, Any]]:
    parsed = json.loads(document)
    assert parsed["Version"] == "2012-10-17"
    assert all(s["Effect"] == "Allow" for s in parsed["Statement"])
    return {s["Sid"]: s for s in parsed["Statement"]}


@pytest.mark.parametrize(
    ("glob", "bucket_arn"),
    [
        ("alice-data", "arn:aws:s3:::alice-data"),  # exact name
        ("demo-*", "arn:aws:s3:::demo-*"),  # prefix-*
        ("*-archive", "arn:aws:s3:::*-archive"),  # *-suffix
        ("*", "arn:aws:s3:::*"),  # every bucket
        ("team-?", "arn:aws:s3:::team-?"),  # one character
    ],
)
def test_each_bucket_glob_form_gives_its_bucket_and_object_arns(glob: str, bucket_arn: str) -> None:
    policy = session_policy((glob,), (), read_only=False)
    by_sid = statements(policy.document)
    assert by_sid["Buckets"] == {
        "Sid": "Buckets",
        "Effect": "Allow",
        "Action": WRITE_BUCKET,
        "Resource": [bucket_arn],
    }
    assert by_sid["Objects"]["Action"] == WRITE_OBJECT
    assert by_sid["Objects"]["Resource"] == [f"{bucket_arn}/*"]
    # No function policy: every function, with the same actions as any unrestricted key.
    assert by_sid["Functions"]["Resource"] == ["arn:aws:lambda:*:*:function:*"]
    assert by_sid["Functions"]["Action"] == [*READ_FUNCTION, "lambda:InvokeFunction"]


@pytest.mark.parametrize(
    ("glob", "arns"),
    [
        ("echo", ["function:echo", "function:echo:*"]),
        ("reports-*", ["function:reports-*", "function:reports-*:*"]),
        ("*-daily", ["function:*-daily", "function:*-daily:*"]),
        ("*", ["function:*", "function:*:*"]),
    ],
)
def test_each_function_glob_form_gives_its_function_arns(glob: str, arns: list[str]) -> None:
    by_sid = statements(session_policy((), (glob,), read_only=False).document)
    assert by_sid["Functions"]["Resource"] == [f"arn:aws:lambda:*:*:{arn}" for arn in arns]
    assert by_sid["Buckets"]["Resource"] == ["arn:aws:s3:::*"]


def test_read_only_allows_no_put_delete_or_invoke() -> None:
    by_sid = statements(session_policy(("demo-*",), ("echo",), read_only=True).document)
    assert by_sid["Buckets"]["Action"] == READ_BUCKET
    assert by_sid["Objects"]["Action"] == READ_OBJECT
    assert by_sid["Functions"]["Action"] == READ_FUNCTION
    every_action = [a for s in by_sid.values() for a in s["Action"]]
    assert not [a for a in every_action if any(w in a for w in ("Put", "Delete", "Invoke"))]


def test_listings_stay_allowed_on_every_resource_because_iam_cannot_limit_them() -> None:
    by_sid = statements(session_policy(("demo-*",), ("echo",), read_only=True).document)
    assert by_sid["ListBuckets"]["Action"] == ["s3:ListAllMyBuckets"]
    assert by_sid["ListBuckets"]["Resource"] == ["*"]
    assert by_sid["ListFunctions"]["Action"] == ["lambda:ListFunctions"]
    assert by_sid["ListFunctions"]["Resource"] == ["*"]


def test_the_document_is_packed_and_the_fingerprint_follows_it() -> None:
    one = session_policy(("a-*",), (), read_only=True)
    assert " " not in one.document
    assert one == session_policy(("a-*",), (), read_only=True)
    assert one.fingerprint != session_policy(("a-*",), (), read_only=False).fingerprint
    assert one.fingerprint != session_policy(("b-*",), (), read_only=True).fingerprint


def test_unrestricted_keys_have_no_session_policy() -> None:
    assert session_policy_of(make_api_key("k1", "plain")) is None
    assert session_policy_of(make_api_key("k2", "ro", read_only=True)) is not None
    assert session_policy_of(make_api_key("k3", "b", buckets=("x",))) is not None
    assert session_policy_of(make_api_key("k4", "f", functions=("x",))) is not None


@pytest.mark.parametrize("glob", ["team-[ab]", "[!x]*", "a]"])
def test_a_character_class_is_refused_because_iam_has_none(glob: str) -> None:
    with pytest.raises(PolicyTranslationError, match="character class"):
        session_policy((glob,), (), read_only=False)


def test_a_policy_over_the_sts_limit_is_refused() -> None:
    many = tuple(f"bucket-number-{n:03d}-*" for n in range(40))
    with pytest.raises(PolicyTranslationError, match=str(MAX_POLICY_CHARS)):
        session_policy(many, (), read_only=False)


def test_a_policy_at_the_limit_is_accepted() -> None:
    globs: list[str] = []
    while True:
        try:
            policy = session_policy((*globs, f"b{len(globs):04d}"), (), read_only=False)
        except PolicyTranslationError:
            break
        globs.append(f"b{len(globs):04d}")
    assert MAX_POLICY_CHARS - 60 < len(policy.document) <= MAX_POLICY_CHARS


@pytest.mark.parametrize(
    ("buckets", "functions", "read_only"),
    [
        (("alice-data",), (), False),
        (("demo-*",), ("echo",), True),
        (("*-archive", "*"), ("reports-*", "*-daily"), False),
        ((), ("*",), True),
        ((), (), True),
    ],
)
def test_parliament_finds_nothing_wrong_in_generated_policies(
    buckets: tuple[str, ...], functions: tuple[str, ...], read_only: bool
) -> None:
    document = session_policy(buckets, functions, read_only=read_only).document
    assert findings(document) == []


def test_the_linter_is_awake() -> None:
    """What the lint above would report, had the generator put an object action on a bucket."""
    wrong = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
    wrong += '"Resource":"arn:aws:s3:::demo"}]}'
    assert [issue for issue, _ in findings(wrong)] == ["RESOURCE_MISMATCH"]
