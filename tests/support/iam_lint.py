"""parliament (Duo Labs' IAM linter) over a policy document: its findings, as (issue, detail)."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, which says it is old
    from parliament import analyze_policy_string


def findings(document: str, *, ignore: frozenset[str] = frozenset()) -> list[tuple[str, Any]]:
    """Every finding parliament reports on `document`, except the issues in `ignore`."""
    policy = analyze_policy_string(document, include_community_auditors=True)
    return [(f.issue, f.detail) for f in policy.findings if f.issue not in ignore]
