"""CONNECTOR_RATE_LIMITS_* and CONNECTOR_COGNITO_BUDGETS: defaults under Cognito's published
quotas, entries that replace one default each, and one clear refusal per malformed value."""

from __future__ import annotations

import pytest

from connector.domain.rate_limits import Rate, ScopeClass
from connector.errors import ConfigurationError
from connector.settings import RateLimitSettings, Settings


def test_defaults_limit_every_scope_class_and_stay_under_cognito_quotas() -> None:
    limits = Settings.from_env({}).rate_limits
    assert limits.enabled
    assert set(limits.per_key) == set(limits.per_user) == set(ScopeClass)
    assert all(limits.per_user[c].amount <= limits.per_key[c].amount for c in ScopeClass)
    assert limits.cognito["GetId"].amount / limits.cognito["GetId"].seconds < 25
    assert limits.cognito["token"].amount / limits.cognito["token"].seconds < 300


def test_an_entry_replaces_its_own_default_only() -> None:
    limits = Settings.from_env(
        {
            "CONNECTOR_RATE_LIMITS_PER_KEY": "read=5/minute, write = 100/10 seconds",
            "CONNECTOR_RATE_LIMITS_PER_USER": "credentials=2/hour",
            "CONNECTOR_COGNITO_BUDGETS": "GetId=10/second",
        }
    ).rate_limits
    defaults = RateLimitSettings()
    assert limits.per_key[ScopeClass.READ] == Rate(5, 60)
    assert limits.per_key[ScopeClass.WRITE] == Rate(100, 10)
    assert limits.per_key[ScopeClass.CONNECT] == defaults.per_key[ScopeClass.CONNECT]
    assert limits.per_user[ScopeClass.CREDENTIALS] == Rate(2, 3600)
    assert limits.cognito == {**defaults.cognito, "GetId": Rate(10, 1)}


def test_limits_can_be_turned_off() -> None:
    assert not Settings.from_env({"CONNECTOR_RATE_LIMITS_ENABLED": "false"}).rate_limits.enabled


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read", "NAME=AMOUNT/PERIOD"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "reads=5/minute", "one of connect, read"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read=0/minute", "not a rate"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read=-1/minute", "not a rate"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read=5/fortnight", "not a rate"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read=5/0 seconds", "not a rate"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read=1e3/minute", "not a rate"),
        ("CONNECTOR_RATE_LIMITS_PER_KEY", "read=9999999999/minute", "not a rate"),
        ("CONNECTOR_RATE_LIMITS_PER_USER", "read=5 per minute", "not a rate"),
        ("CONNECTOR_COGNITO_BUDGETS", "GetCredentials=5/second", "one of GetId"),
        ("CONNECTOR_RATE_LIMITS_ENABLED", "maybe", "true or false"),
    ],
)
def test_a_malformed_value_is_refused_naming_its_variable(
    variable: str, value: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({variable: value})
    assert refused.value.variable == variable
    assert problem in refused.value.problem
