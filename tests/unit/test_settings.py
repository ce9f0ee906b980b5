"""Settings.from_env: defaults, expansion, and one clear error naming each bad variable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from connector.errors import ConfigurationError
from connector.settings import IdentityBinding, RpcSettings, Settings

COGNITO = {
    "AWS_COGNITO_DOMAIN": "my-domain",
    "AWS_COGNITO_CLIENT_ID": "client123",
    "AWS_REGION": "eu-west-1",
    "AWS_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
}
S3 = {"CONNECTOR_DATABASE_URL": "s3://connector-store/prod/"}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def test_empty_environment_gives_the_embedded_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.cognito is None
    assert settings.database.url.startswith("sqlite+aiosqlite:///")
    assert settings.database.auto_migrate is True
    assert settings.cache.url == "memory://"
    assert settings.cache.socket_timeout < 1
    assert settings.encryption.keys == ()
    assert settings.server.callback_url == "http://127.0.0.1:8000/callback"


def test_domain_prefix_expands_to_the_regional_hosted_ui_and_issuer() -> None:
    cognito = Settings.from_env(COGNITO).cognito
    assert cognito is not None
    assert cognito.base_url == "https://my-domain.auth.eu-west-1.amazoncognito.com"
    assert cognito.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    assert cognito.jwks_url == cognito.issuer + "/.well-known/jwks.json"
    assert cognito.logins_key == "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    assert cognito.client_secret is None
    assert cognito.scopes == ("openid", "email", "profile")


def test_a_role_arn_selects_the_basic_flow_with_its_duration() -> None:
    env = {
        **COGNITO,
        "AWS_COGNITO_ROLE_ARN": "arn:aws:iam::123456789012:role/connector-users",
        "CONNECTOR_CREDENTIALS_DURATION": "1800",
    }
    cognito = Settings.from_env(env).cognito
    assert cognito is not None
    assert cognito.role_arn == "arn:aws:iam::123456789012:role/connector-users"
    assert cognito.session_seconds == 1800
    assert Settings.from_env(COGNITO).cognito.role_arn is None  # type: ignore[union-attr]


def test_full_http_domain_and_trailing_slashes_are_accepted() -> None:
    env = {
        **COGNITO,
        "AWS_COGNITO_DOMAIN": "http://127.0.0.1:9229/",
        "CONNECTOR_PUBLIC_URL": "https://connector.example.com/",
    }
    settings = Settings.from_env(env)
    assert settings.cognito is not None
    assert settings.cognito.base_url == "http://127.0.0.1:9229"
    assert settings.server.callback_url == "https://connector.example.com/callback"


def test_redirect_allowlist_keeps_entries_as_raw_strings() -> None:
    env = {"CONNECTOR_REDIRECT_ALLOWLIST": "https://app.example/done, https://App.example/done/"}
    allow = Settings.from_env(env).server.redirect_allowlist
    assert allow == ("https://app.example/done", "https://App.example/done/")


def test_encryption_keys_are_parsed_in_order() -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys = Settings.from_env({"CONNECTOR_ENCRYPTION_KEYS": f"{first},{second}"}).encryption.keys
    assert keys == (first, second)


def test_an_s3_store_defaults_to_sse_s3_and_conditional_writes() -> None:
    database = Settings.from_env(S3).database
    assert database.is_s3
    assert database.auto_migrate is False
    assert database.s3.kms_key_id is None
    assert database.s3.conditional_writes is True
    assert not Settings.from_env({}).database.is_s3


@pytest.mark.parametrize(
    "key",
    [
        KEY_ID,
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_ID}",
        "alias/connector-store",
        "arn:aws:kms:eu-west-1:123456789012:alias/connector-store",
    ],
)
def test_an_s3_store_takes_every_form_of_kms_key_and_the_fallback_switch(key: str) -> None:
    env = {**S3, "CONNECTOR_DATABASE_KMS_KEY_ID": key, "CONNECTOR_DATABASE_CONDITIONAL_WRITES": "0"}
    database = Settings.from_env(env).database
    assert database.s3.kms_key_id == key
    assert database.s3.conditional_writes is False


def test_auto_migrate_defaults_off_for_postgresql() -> None:
    env = {"CONNECTOR_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/db"}
    assert Settings.from_env(env).database.auto_migrate is False


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CONNECTOR_DATABASE_URL": "mysql://x"}, "CONNECTOR_DATABASE_URL"),
        ({"CONNECTOR_REDIS_URL": "memcached://x"}, "CONNECTOR_REDIS_URL"),
        ({"CONNECTOR_ENCRYPTION_KEYS": "not-a-key"}, "CONNECTOR_ENCRYPTION_KEYS"),
        ({"CONNECTOR_PUBLIC_URL": "ftp://x"}, "CONNECTOR_PUBLIC_URL"),
        ({"CONNECTOR_REDIRECT_ALLOWLIST": "/relative"}, "CONNECTOR_REDIRECT_ALLOWLIST"),
        ({"CONNECTOR_REDIS_SOCKET_TIMEOUT": "soon"}, "CONNECTOR_REDIS_SOCKET_TIMEOUT"),
        ({"CONNECTOR_REDIS_SOCKET_TIMEOUT": "-1"}, "CONNECTOR_REDIS_SOCKET_TIMEOUT"),
        ({"CONNECTOR_AUTO_MIGRATE": "maybe"}, "CONNECTOR_AUTO_MIGRATE"),
        ({"CONNECTOR_ENV": "staging"}, "CONNECTOR_ENV"),
        ({"CONNECTOR_ENV": "production"}, "CONNECTOR_ENCRYPTION_KEYS"),
        ({**COGNITO, "AWS_COGNITO_CLIENT_ID": ""}, "AWS_COGNITO_CLIENT_ID"),
        ({**COGNITO, "AWS_REGION": "mars"}, "AWS_REGION"),
        ({**COGNITO, "AWS_COGNITO_USER_POOL_ID": "us-east-1_X"}, "AWS_COGNITO_USER_POOL_ID"),
        ({**COGNITO, "AWS_COGNITO_DOMAIN": "Bad_Domain"}, "AWS_COGNITO_DOMAIN"),
        ({**COGNITO, "CONNECTOR_OAUTH_SCOPES": "email profile"}, "CONNECTOR_OAUTH_SCOPES"),
        ({**COGNITO, "AWS_COGNITO_ROLE_ARN": "not-an-arn"}, "AWS_COGNITO_ROLE_ARN"),
        ({**COGNITO, "CONNECTOR_CREDENTIALS_DURATION": "60"}, "CONNECTOR_CREDENTIALS_DURATION"),
        ({"CONNECTOR_RPC_MAX_BATCH": "0"}, "CONNECTOR_RPC_MAX_BATCH"),
        ({"CONNECTOR_RPC_MAX_BATCH": "lots"}, "CONNECTOR_RPC_MAX_BATCH"),
        ({"CONNECTOR_RPC_MAX_OBJECT_BYTES": "1e6"}, "CONNECTOR_RPC_MAX_OBJECT_BYTES"),
        ({**S3, "CONNECTOR_DATABASE_KMS_KEY_ID": "my-key"}, "CONNECTOR_DATABASE_KMS_KEY_ID"),
        ({**S3, "CONNECTOR_DATABASE_KMS_KEY_ID": "key/" + KEY_ID}, "CONNECTOR_DATABASE_KMS_KEY_ID"),
        ({"CONNECTOR_DATABASE_KMS_KEY_ID": "alias/x"}, "CONNECTOR_DATABASE_KMS_KEY_ID"),
        (
            {**S3, "CONNECTOR_DATABASE_CONDITIONAL_WRITES": "sometimes"},
            "CONNECTOR_DATABASE_CONDITIONAL_WRITES",
        ),
        (
            {"CONNECTOR_DATABASE_CONDITIONAL_WRITES": "false"},
            "CONNECTOR_DATABASE_CONDITIONAL_WRITES",
        ),
    ],
)
def test_bad_configuration_names_its_variable_in_one_line(
    env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_secrets_never_appear_in_configuration_errors() -> None:
    env = {**COGNITO, "AWS_COGNITO_CLIENT_SECRET": "s3cr3t-value", "AWS_REGION": "nowhere"}
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    assert "s3cr3t-value" not in str(caught.value)


def test_rpc_bounds_have_defaults_and_can_be_set() -> None:
    assert Settings.from_env({}).rpc == RpcSettings(max_batch=50, max_object_bytes=5 << 20)
    configured = Settings.from_env(
        {"CONNECTOR_RPC_MAX_BATCH": "10", "CONNECTOR_RPC_MAX_OBJECT_BYTES": "1024"}
    )
    assert configured.rpc == RpcSettings(max_batch=10, max_object_bytes=1024)


def test_identity_binding_defaults_to_confirm_in_every_environment() -> None:
    key = {"CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    assert Settings.from_env({}).binding == IdentityBinding(mode="confirm")
    production = Settings.from_env({"CONNECTOR_ENV": "production", **key})
    assert production.binding == IdentityBinding(mode="confirm")


@pytest.mark.parametrize(
    ("raw", "claim"), [("claim:sub", "sub"), ("claim:cognito:username", "cognito:username")]
)
def test_claim_binding_splits_at_the_first_colon(raw: str, claim: str) -> None:
    binding = Settings.from_env({"CONNECTOR_IDENTITY_BINDING": raw}).binding
    assert binding == IdentityBinding(mode="claim", claim=claim)


def test_claim_email_and_none_are_accepted_in_development() -> None:
    assert Settings.from_env({"CONNECTOR_IDENTITY_BINDING": "claim:email"}).binding.claim == "email"
    assert Settings.from_env({"CONNECTOR_IDENTITY_BINDING": "none"}).binding.mode == "none"


@pytest.mark.parametrize(
    "raw", ["claim:", "claim:name", "claim:custom:tenant", "confirm:sub", "sometimes", "none:x"]
)
def test_unknown_bindings_stop_start_up_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"CONNECTOR_IDENTITY_BINDING": raw})
    assert raised.value.variable == "CONNECTOR_IDENTITY_BINDING"
    assert "\n" not in str(raised.value)


def test_binding_none_is_refused_in_production() -> None:
    environment = {
        "CONNECTOR_ENV": "production",
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CONNECTOR_IDENTITY_BINDING": "none",
    }
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(environment)
    assert raised.value.variable == "CONNECTOR_IDENTITY_BINDING"
    assert "production" in raised.value.problem
