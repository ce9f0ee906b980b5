"""The IAM set-up an operator applies (deploy/iam/*.json), linted by parliament. moto enforces
neither session policies nor principal tags: what parliament and these checks cannot prove is
listed in the README ("Least privilege, enforced by AWS") for the operator to check on AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.iam_lint import findings

IAM = Path(__file__).resolve().parents[2] / "deploy" / "iam"
PERMISSIONS = sorted(IAM.glob("*-permissions.json"))
TRUSTS = sorted(IAM.glob("*-trust.json"))
# A trust policy has no Resource (parliament reads identity policies): it is linted with
# Resource "*" added, which makes parliament report the two findings of a `*` resource on STS
# actions, and it does not know the web-identity condition keys Cognito supplies.
TRUST_ARTEFACTS = frozenset({"RESOURCE_STAR", "CREDENTIALS_EXPOSURE"})


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_the_policy_files_are_there() -> None:
    names = {p.name for p in IAM.glob("*.json")}
    assert {
        "identity-pool-role-trust.json",
        "user-role-permissions.json",
        "abac-user-prefix-permissions.json",
        "identity-pool-principal-tags.json",
    } <= names


@pytest.mark.parametrize("path", PERMISSIONS, ids=lambda p: p.name)
def test_parliament_finds_nothing_in_the_permission_policies(path: Path) -> None:
    assert findings(path.read_text()) == []


@pytest.mark.parametrize("path", TRUSTS, ids=lambda p: p.name)
def test_parliament_finds_nothing_in_the_trust_policies_but_what_trust_policies_are(
    path: Path,
) -> None:
    document = load(path)
    for statement in document["Statement"]:
        statement["Resource"] = "*"
    left = [
        (issue, detail)
        for issue, detail in findings(json.dumps(document), ignore=TRUST_ARTEFACTS)
        if not (
            issue == "UNKNOWN_CONDITION_FOR_ACTION"
            and "cognito-identity.amazonaws.com:" in str(detail)
        )
    ]
    assert left == []


def test_the_identity_pool_role_trusts_only_signed_in_users_of_one_pool_and_allows_tags() -> None:
    (statement,) = load(IAM / "identity-pool-role-trust.json")["Statement"]
    assert statement["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
    # AssumeRoleWithWebIdentity: the basic flow (and the enhanced one); TagSession: principal
    # tags (the ABAC variant) are session tags.
    assert set(statement["Action"]) == {"sts:AssumeRoleWithWebIdentity", "sts:TagSession"}
    condition = statement["Condition"]
    assert "cognito-identity.amazonaws.com:aud" in condition["StringEquals"]
    assert condition["ForAnyValue:StringLike"] == {
        "cognito-identity.amazonaws.com:amr": "authenticated"
    }


def test_the_abac_variant_confines_each_user_to_their_own_prefix() -> None:
    statements = {s["Sid"]: s for s in load(IAM / "abac-user-prefix-permissions.json")["Statement"]}
    objects = statements["ObjectsUnderTheUsersOwnPrefix"]
    assert objects["Resource"] == "arn:aws:s3:::example-app-data/users/${aws:PrincipalTag/sub}/*"
    listing = statements["ListOnlyTheUsersOwnPrefix"]["Condition"]["StringLike"]["s3:prefix"]
    assert all(p.startswith("users/${aws:PrincipalTag/sub}/") for p in listing)
    tags = load(IAM / "identity-pool-principal-tags.json")
    assert tags["PrincipalTags"] == {"sub": "sub"}
    assert tags["UseDefaults"] is False  # the defaults map username and client, not sub
