"""The STS session policy of a restricted API key: what AWS itself lets its credentials do.

A key with a bucket or function policy, or read-only, is *restricted*. Its credentials (those
vended by /credentials and /container-credentials, and those the connector signs its own S3 and
Lambda calls with for that key) carry this policy, so AWS enforces the key's limits even on a
caller holding the raw credentials. A session policy only narrows: the effective permissions are
the intersection of the role's policy and this one.

Glob translation (case-sensitive shell globs -> IAM ARN wildcards): `*` and `?` mean the same in
both; a character class (`[...]`) has no IAM form and is refused. A bucket glob `G` gives the
bucket ARN `arn:aws:s3:::G` and the object ARN `arn:aws:s3:::G/*`; a function glob `G` gives
`arn:aws:lambda:*:*:function:G` and its qualified form `...:function:G:*`.
`s3:ListAllMyBuckets` and `lambda:ListFunctions` cannot be limited to resources by IAM: they stay
allowed, and the connector keeps filtering listings by the key's policy.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from connector.domain.models import ApiKey

MAX_POLICY_CHARS = 2048
"""STS refuses a session policy longer than this (plaintext, whitespace included)."""
IAM_VERSION = "2012-10-17"

S3_LIST = ("s3:ListAllMyBuckets",)
S3_BUCKET_READ = ("s3:ListBucket", "s3:GetBucketLocation")
S3_BUCKET_WRITE = ("s3:ListBucketMultipartUploads",)
S3_OBJECT_READ = ("s3:GetObject",)
S3_OBJECT_WRITE = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
LAMBDA_LIST = ("lambda:ListFunctions",)
LAMBDA_READ = ("lambda:GetFunction", "lambda:GetFunctionConfiguration")
LAMBDA_INVOKE = ("lambda:InvokeFunction",)
_NOT_IN_IAM = frozenset("[]")


class PolicyTranslationError(ValueError):
    """A key policy that IAM cannot express, or whose session policy would not fit STS."""


class SessionPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The packed JSON policy document and its fingerprint (what caches are keyed by)."""

    document: str
    fingerprint: str


def is_restricted(key: ApiKey) -> bool:
    """True for a key with a bucket or function policy, or read-only."""
    return bool(key.buckets or key.functions or key.read_only)


def session_policy_of(key: ApiKey) -> SessionPolicy | None:
    """The key's session policy, or None for an unrestricted key."""
    if not is_restricted(key):
        return None
    return session_policy(key.buckets, key.functions, read_only=key.read_only)


def session_policy(
    buckets: tuple[str, ...], functions: tuple[str, ...], *, read_only: bool
) -> SessionPolicy:
    """The policy for these globs; PolicyTranslationError when IAM cannot hold it."""
    for glob in (*buckets, *functions):
        if _NOT_IN_IAM & set(glob):
            raise PolicyTranslationError(
                f"the pattern {glob!r} has a character class ([...]), which IAM cannot express;"
                " use only * and ?"
            )
    bucket_arns = [f"arn:aws:s3:::{g}" for g in buckets] or ["arn:aws:s3:::*"]
    object_arns = [f"{arn}/*" for arn in bucket_arns]
    function_arns = [
        arn
        for g in functions
        for arn in (f"arn:aws:lambda:*:*:function:{g}", f"arn:aws:lambda:*:*:function:{g}:*")
    ] or ["arn:aws:lambda:*:*:function:*"]
    statements: list[dict[str, Any]] = [
        _allow("ListBuckets", S3_LIST, ["*"]),
        _allow("Buckets", S3_BUCKET_READ + ((), S3_BUCKET_WRITE)[not read_only], bucket_arns),
        _allow("Objects", S3_OBJECT_READ + ((), S3_OBJECT_WRITE)[not read_only], object_arns),
        _allow("ListFunctions", LAMBDA_LIST, ["*"]),
        _allow("Functions", LAMBDA_READ + ((), LAMBDA_INVOKE)[not read_only], function_arns),
    ]
    document = msgspec.json.encode({"Version": IAM_VERSION, "Statement": statements}).decode()
    if len(document) > MAX_POLICY_CHARS:
        raise PolicyTranslationError(
            f"the key's session policy would be {len(document)} characters, over STS's"
            f" {MAX_POLICY_CHARS}: use fewer or broader bucket/function patterns"
        )
    fingerprint = hashlib.sha256(document.encode()).hexdigest()[:32]
    return SessionPolicy(document=document, fingerprint=fingerprint)


def _allow(sid: str, actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}
