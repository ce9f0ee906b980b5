"""Webhook configuration: one endpoint from two variables, more from a TOML file naming the
variables that hold their secrets; each mistake refused at start-up, naming the variable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from connector.errors import ConfigurationError
from connector.services.webhooks import sign
from connector.settings import Settings
from connector.webhook_settings import parse_secret, webhook_settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_without_variables_webhooks_are_off() -> None:
    assert not webhook_settings({}).enabled
    assert not Settings.from_env({}).webhooks.enabled


def test_one_endpoint_and_a_file_of_more(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks.toml"
    hooks.write_text(
        '[[webhooks]]\nurl = "https://a.example/in"\nsecret_env = "HOOK_A"\n'
        '[[webhooks]]\nurl = "https://b.example/in"\nsecret_env = "HOOK_B"\n'
    )
    settings = webhook_settings(
        {
            "CONNECTOR_WEBHOOK_URL": "https://main.example/in",
            "CONNECTOR_WEBHOOK_SECRET": SECRET,
            "CONNECTOR_WEBHOOKS_FILE": str(hooks),
            "HOOK_A": SECRET,
            "HOOK_B": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
        }
    )
    assert [e.url for e in settings.endpoints] == [
        "https://main.example/in",
        "https://a.example/in",
        "https://b.example/in",
    ]
    assert settings.endpoints[2].secret == b"ABCDEFGHIJKLMNOPQRSTUVWX"
    assert "whsec" not in repr(settings)
    assert "ABCDEF" not in repr(settings)


def test_the_lease_outlasts_an_attempt_and_can_be_set() -> None:
    assert webhook_settings({}).lease_seconds == 60.0
    assert webhook_settings({"CONNECTOR_WEBHOOK_TIMEOUT": "30"}).lease_seconds == 90.0
    short = webhook_settings({"CONNECTOR_WEBHOOK_TIMEOUT": "2", "CONNECTOR_WEBHOOK_LEASE": "5"})
    assert (short.timeout_seconds, short.lease_seconds) == (2.0, 5.0)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CONNECTOR_WEBHOOK_URL": "https://a.example"}, "CONNECTOR_WEBHOOK_SECRET"),
        ({"CONNECTOR_WEBHOOK_SECRET": SECRET}, "CONNECTOR_WEBHOOK_URL"),
        (
            {"CONNECTOR_WEBHOOK_URL": "ftp://a.example", "CONNECTOR_WEBHOOK_SECRET": SECRET},
            "CONNECTOR_WEBHOOK_URL",
        ),
        (
            {"CONNECTOR_WEBHOOK_URL": "https://a.example", "CONNECTOR_WEBHOOK_SECRET": "plain"},
            "CONNECTOR_WEBHOOK_SECRET",
        ),
        (
            {"CONNECTOR_WEBHOOK_URL": "https://a.example", "CONNECTOR_WEBHOOK_SECRET": "whsec_!!"},
            "CONNECTOR_WEBHOOK_SECRET",
        ),
        (
            {
                "CONNECTOR_WEBHOOK_URL": "https://a.example",
                "CONNECTOR_WEBHOOK_SECRET": "whsec_YQ==",
            },
            "CONNECTOR_WEBHOOK_SECRET",
        ),
        ({"CONNECTOR_WEBHOOKS_FILE": "/nonexistent/hooks.toml"}, "CONNECTOR_WEBHOOKS_FILE"),
        ({"CONNECTOR_WEBHOOK_TIMEOUT": "0"}, "CONNECTOR_WEBHOOK_TIMEOUT"),
        ({"CONNECTOR_WEBHOOK_HORIZON": "soon"}, "CONNECTOR_WEBHOOK_HORIZON"),
        ({"CONNECTOR_WEBHOOK_LEASE": "0"}, "CONNECTOR_WEBHOOK_LEASE"),
        ({"CONNECTOR_WEBHOOK_LEASE": "10"}, "CONNECTOR_WEBHOOK_LEASE"),  # not past the timeout
        (
            {"CONNECTOR_WEBHOOK_TIMEOUT": "5", "CONNECTOR_WEBHOOK_LEASE": "4"},
            "CONNECTOR_WEBHOOK_LEASE",
        ),
    ],
)
def test_a_mistake_is_refused_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        webhook_settings(environ)
    assert named in str(raised.value)


def test_a_file_entry_whose_secret_variable_is_unset_names_that_variable(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks.toml"
    hooks.write_text('[[webhooks]]\nurl = "https://a.example/in"\nsecret_env = "MISSING_HOOK"\n')
    with pytest.raises(ConfigurationError) as raised:
        webhook_settings({"CONNECTOR_WEBHOOKS_FILE": str(hooks)})
    assert "MISSING_HOOK" in str(raised.value)


def test_signatures_match_the_standard_webhooks_library() -> None:
    body = b'{"type":"connection.created"}'
    at = datetime.fromtimestamp(1_765_000_000, UTC)
    expected = Webhook(SECRET).sign("msg_1", at, body.decode())
    assert sign(parse_secret(SECRET, "X"), "msg_1", 1_765_000_000, body) == expected
