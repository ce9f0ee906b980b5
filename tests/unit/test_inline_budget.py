"""The inline budget of one JSON-RPC request: claimed per object, shared by a batch."""

from __future__ import annotations

import pytest

from connector.api.inline_budget import InlineBudget
from connector.errors import ValidationError


def test_claims_grow_within_the_total_and_the_per_object_limit() -> None:
    budget = InlineBudget(total=10, per_object=6)
    first = budget.claim("key")
    first.grow_to(4)
    first.grow_to(6)
    second = budget.claim("key")
    second.grow_to(4)
    assert (budget.used, first.size, second.size) == (10, 6, 4)


def test_an_object_past_the_per_object_limit_is_too_large() -> None:
    budget = InlineBudget(total=10, per_object=6)
    with pytest.raises(ValidationError) as caught:
        budget.claim("body").grow_to(7)
    assert caught.value.details == {"field": "body", "limit": 6, "use": "presign"}
    assert budget.used == 0


def test_a_claim_past_the_total_is_refused_and_a_spent_budget_refuses_new_claims() -> None:
    budget = InlineBudget(total=10, per_object=6)
    budget.claim("key").grow_to(6)
    late = budget.claim("key")
    with pytest.raises(ValidationError) as caught:
        late.grow_to(5)
    assert caught.value.details == {"field": "key", "requestLimit": 10, "use": "presign"}
    late.grow_to(4)
    with pytest.raises(ValidationError):
        budget.claim("key")


def test_a_released_claim_gives_its_bytes_back() -> None:
    budget = InlineBudget(total=10, per_object=10)
    claim = budget.claim("key")
    claim.grow_to(10)
    claim.release()
    budget.claim("key").grow_to(10)
    assert budget.used == 10
