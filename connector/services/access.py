"""What an API key may do: scopes and its bucket / function policy (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from connector.domain.models import ApiKey, Scope
from connector.domain.session_policy import is_restricted
from connector.errors import PermissionDeniedError


def require_scope(key: ApiKey, scope: Scope) -> None:
    """FORBIDDEN unless the key carries `scope`. `token:read` is refused to a restricted key
    whatever it carries (a key stored before the rule, or by hand): a Cognito access token
    cannot be narrowed to the key's policy."""
    if scope not in key.scopes:
        raise PermissionDeniedError(
            f"this API key lacks the '{scope}' scope", details={"requiredScope": str(scope)}
        )
    if scope is Scope.TOKEN_READ and is_restricted(key):
        raise PermissionDeniedError(
            "a key with a bucket/function policy or read-only may not read the Cognito token:"
            " a token carries no limit",
            details={"requiredScope": str(scope)},
        )


def require_provider(key: ApiKey, provider: str) -> None:
    """FORBIDDEN, before any upstream call, for a provider outside the key's policy (a key
    without providers covers every provider)."""
    if key.providers and provider not in key.providers:
        raise PermissionDeniedError(
            "this API key's policy does not cover that provider", details={"provider": provider}
        )


def bucket_allowed(key: ApiKey, bucket: str) -> bool:
    """True if the key has no bucket policy or one of its globs matches (case-sensitive)."""
    return not key.buckets or any(fnmatchcase(bucket, p) for p in key.buckets)


def function_allowed(key: ApiKey, name: str) -> bool:
    """True if the key has no function policy or one of its globs matches (case-sensitive)."""
    return not key.functions or any(fnmatchcase(name, p) for p in key.functions)


def require_bucket(key: ApiKey, bucket: str) -> None:
    """FORBIDDEN, before any AWS call, for a bucket outside the key's policy."""
    if not bucket_allowed(key, bucket):
        raise PermissionDeniedError(
            "this API key's policy does not cover that bucket", details={"bucket": bucket}
        )


def require_function(key: ApiKey, name: str) -> None:
    """FORBIDDEN, before any AWS call, for a function outside the key's policy."""
    if not function_allowed(key, name):
        raise PermissionDeniedError(
            "this API key's policy does not cover that function", details={"function": name}
        )


def visible_buckets(key: ApiKey, names: Iterable[str]) -> list[str]:
    """Listings show only what the policy covers."""
    return [n for n in names if bucket_allowed(key, n)]
