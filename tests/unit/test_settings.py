"""Settings.from_env: defaults, expansion, and one clear error naming each bad variable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from connector.errors import ConfigurationError
from connector.settings import DeadlineSettings, IdentityBinding, RpcSettings, Settings

COGNITO = {
    "AWS_COGNITO_DOMAIN": "my-domain",
    "AWS_COGNITO_CLIENT_ID": "client123",
    "AWS_REGION": "eu-west-1",
    "AWS_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
}
S3 = {"CONNECTOR_DATABASE_URL": "s3://connector-store/prod/"}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
FERNET_KEY = Fernet.generate_key().decode()


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
        ({"CONNECTOR_RPC_MAX_INLINE_BYTES": "1000"}, "CONNECTOR_RPC_MAX_INLINE_BYTES"),
        ({"CONNECTOR_RPC_MAX_INLINE_BYTES": str(1 << 30)}, "CONNECTOR_RPC_MAX_INLINE_BYTES"),
        ({"CONNECTOR_RPC_BATCH_CONCURRENCY": "0"}, "CONNECTOR_RPC_BATCH_CONCURRENCY"),
        ({"CONNECTOR_RPC_BATCH_CONCURRENCY": "51"}, "CONNECTOR_RPC_BATCH_CONCURRENCY"),
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
        ({"CONNECTOR_AWS_TIMEOUT": "0"}, "CONNECTOR_AWS_TIMEOUT"),
        ({"CONNECTOR_AWS_TIMEOUT": "ten"}, "CONNECTOR_AWS_TIMEOUT"),
        ({"CONNECTOR_AWS_TIMEOUT": "901"}, "CONNECTOR_AWS_TIMEOUT"),
        ({"CONNECTOR_COGNITO_TIMEOUT": "-5"}, "CONNECTOR_COGNITO_TIMEOUT"),
        ({"CONNECTOR_COGNITO_TIMEOUT": "61"}, "CONNECTOR_COGNITO_TIMEOUT"),
        ({"CONNECTOR_COGNITO_TIMEOUT": "inf"}, "CONNECTOR_COGNITO_TIMEOUT"),
        ({"CONNECTOR_DATABASE_TIMEOUT": "nan"}, "CONNECTOR_DATABASE_TIMEOUT"),
        ({"CONNECTOR_DATABASE_TIMEOUT": "301"}, "CONNECTOR_DATABASE_TIMEOUT"),
        ({"CONNECTOR_REDIS_RETRY_INTERVAL": "0"}, "CONNECTOR_REDIS_RETRY_INTERVAL"),
        ({"CONNECTOR_REDIS_RETRY_INTERVAL": "1 minute"}, "CONNECTOR_REDIS_RETRY_INTERVAL"),
        ({"CONNECTOR_REDIS_RETRY_INTERVAL": "301"}, "CONNECTOR_REDIS_RETRY_INTERVAL"),
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
    defaults = Settings.from_env({}).rpc
    assert defaults == RpcSettings(
        max_batch=50, max_object_bytes=5 << 20, max_inline_bytes=5 << 20, batch_concurrency=4
    )
    assert defaults.max_request_bytes == 6_990_508 + (1 << 20)  # 5 MiB as base64, and 1 MiB
    configured = Settings.from_env(
        {"CONNECTOR_RPC_MAX_BATCH": "10", "CONNECTOR_RPC_MAX_OBJECT_BYTES": "1024"}
    )
    # The request's inline budget follows the single-object limit unless set.
    assert configured.rpc == RpcSettings(
        max_batch=10, max_object_bytes=1024, max_inline_bytes=1024, batch_concurrency=4
    )
    assert configured.rpc.max_request_bytes == 1368 + (1 << 20)
    own = Settings.from_env(
        {"CONNECTOR_RPC_MAX_INLINE_BYTES": "20000000", "CONNECTOR_RPC_BATCH_CONCURRENCY": "8"}
    ).rpc
    assert (own.max_object_bytes, own.max_inline_bytes, own.batch_concurrency) == (
        5 << 20,
        20_000_000,
        8,
    )


PRODUCTION = {**COGNITO, "CONNECTOR_ENV": "production", "CONNECTOR_ENCRYPTION_KEYS": FERNET_KEY}


@pytest.mark.parametrize(
    ("changes", "variable", "which"),
    [
        ({"AWS_COGNITO_ISSUER": "http://idp.example.com/pool"}, "AWS_COGNITO_ISSUER", ""),
        ({"AWS_COGNITO_DOMAIN": "http://auth.example.com"}, "AWS_COGNITO_DOMAIN", ""),
        ({"CONNECTOR_PUBLIC_URL": "http://connector.example.com"}, "CONNECTOR_PUBLIC_URL", ""),
        ({"CONNECTOR_PUBLIC_URL": "http://10.0.0.8:8000"}, "CONNECTOR_PUBLIC_URL", ""),
        (
            {"CONNECTOR_REDIRECT_ALLOWLIST": "https://app.example/a, http://app.example/b"},
            "CONNECTOR_REDIRECT_ALLOWLIST",
            "entry #2 ",
        ),
        # Names that merely look local are not loopback.
        ({"CONNECTOR_PUBLIC_URL": "http://localhost.example.com"}, "CONNECTOR_PUBLIC_URL", ""),
        ({"CONNECTOR_PUBLIC_URL": "http://128.0.0.1"}, "CONNECTOR_PUBLIC_URL", ""),
    ],
)
def test_production_requires_https_for_every_url_naming_the_variable(
    changes: dict[str, str], variable: str, which: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**PRODUCTION, **changes})
    assert caught.value.variable == variable
    assert str(caught.value) == (
        f"{variable}: {which}must be an https:// URL when CONNECTOR_ENV=production"
        " (http:// is allowed for loopback hosts only)"
    )
    # The same configuration is accepted outside production.
    assert Settings.from_env({**PRODUCTION, **changes, "CONNECTOR_ENV": "development"})


@pytest.mark.parametrize(
    "host", ["127.0.0.1:9229", "127.42.0.7", "localhost:8000", "LOCALHOST", "[::1]:8000"]
)
def test_production_allows_http_on_loopback_hosts(host: str) -> None:
    url = f"http://{host}"
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "AWS_COGNITO_DOMAIN": url,
            "AWS_COGNITO_ISSUER": f"{url}/eu-west-1_AbCdEf123",
            "CONNECTOR_PUBLIC_URL": url,
            "CONNECTOR_REDIRECT_ALLOWLIST": f"{url}/done,https://app.example.com/done",
        }
    )
    assert settings.server.public_url == url
    assert settings.cognito is not None
    assert settings.cognito.base_url == url


def test_production_with_https_everywhere_starts() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "CONNECTOR_PUBLIC_URL": "https://connector.example.com",
            "CONNECTOR_REDIRECT_ALLOWLIST": "https://app.example.com/done",
        }
    )
    assert settings.server.environment == "production"
    assert settings.cognito is not None
    assert settings.cognito.issuer.startswith("https://")


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


def test_deadlines_and_the_cache_retry_interval_have_defaults_and_can_be_set() -> None:
    defaults = Settings.from_env({})
    assert defaults.deadlines == DeadlineSettings(
        aws_seconds=10.0, cognito_seconds=5.0, database_seconds=5.0
    )
    assert defaults.cache.retry_interval == 2.0
    configured = Settings.from_env(
        {
            "CONNECTOR_AWS_TIMEOUT": "30",
            "CONNECTOR_COGNITO_TIMEOUT": "2.5",
            "CONNECTOR_DATABASE_TIMEOUT": "0.75",
            "CONNECTOR_REDIS_RETRY_INTERVAL": "10",
        }
    )
    assert configured.deadlines == DeadlineSettings(
        aws_seconds=30.0, cognito_seconds=2.5, database_seconds=0.75
    )
    assert configured.cache.retry_interval == 10.0


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "1e9"])
def test_a_bad_timeout_is_refused_in_one_line_naming_it(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"CONNECTOR_AWS_TIMEOUT": value})
    assert str(caught.value).startswith("CONNECTOR_AWS_TIMEOUT: ")
    assert "\n" not in str(caught.value)
