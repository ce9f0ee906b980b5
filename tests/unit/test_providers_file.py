"""CONNECTOR_PROVIDERS_FILE: the providers it defines, and one start-up line per mistake that
names the file, the provider and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConfigurationError
from connector.settings import Settings

COGNITO = {
    "AWS_COGNITO_DOMAIN": "my-domain",
    "AWS_COGNITO_CLIENT_ID": "client123",
    "AWS_REGION": "eu-west-1",
    "AWS_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
}
ACME = """
[providers.acme]
domain = "acme-login"
client_id = "acme-client"
client_secret_env = "ACME_SECRET"
region = "eu-west-1"
user_pool_id = "eu-west-1_Acme"
identity_pool_id = "eu-west-1:11111111-2222-3333-4444-555555555555"
"""
GLOBEX = """
[providers.globex]
domain = "http://127.0.0.1:9330/"
client_id = "globex-client"
region = "us-east-2"
user_pool_id = "us-east-2_Globex"
issuer = "http://127.0.0.1:9330/us-east-2_Globex/"
scopes = ["openid", "email"]
role_arn = "arn:aws:iam::123456789012:role/globex-users"
credentials_duration = 1800
"""


def settings_of(tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "providers.toml"
    path.write_text(text)
    return Settings.from_env(
        {"CONNECTOR_PROVIDERS_FILE": str(path), "ACME_SECRET": "s3cr3t", **env}
    )


def failure_of(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        settings_of(tmp_path, text, **env)
    message = str(caught.value)
    assert message.startswith("CONNECTOR_PROVIDERS_FILE: ")
    assert str(tmp_path / "providers.toml") in message
    assert "\n" not in message
    return message


def test_without_a_file_the_variables_define_the_one_provider_named_default() -> None:
    settings = Settings.from_env(COGNITO)
    assert settings.providers == ()
    assert [p.name for p in settings.provider_set] == ["default"]
    assert settings.default_provider_name == "default"


def test_a_file_defines_every_field_of_its_providers(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, ACME + GLOBEX)
    acme, globex = settings.provider_set
    assert (acme.name, globex.name) == ("acme", "globex")
    assert acme.base_url == "https://acme-login.auth.eu-west-1.amazoncognito.com"
    assert acme.client_secret == "s3cr3t"
    assert acme.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Acme"
    assert acme.identity_pool_id == "eu-west-1:11111111-2222-3333-4444-555555555555"
    assert acme.scopes == ("openid", "email", "profile")
    assert acme.role_arn is None
    assert globex.base_url == "http://127.0.0.1:9330"
    assert globex.client_secret is None
    assert globex.issuer == "http://127.0.0.1:9330/us-east-2_Globex"
    assert globex.scopes == ("openid", "email")
    assert globex.role_arn == "arn:aws:iam::123456789012:role/globex-users"
    assert globex.session_seconds == 1800
    assert settings.default_provider_name is None
    assert settings.cognito is None


def test_a_provider_marked_default_is_the_default(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, ACME + "default = true\n" + GLOBEX)
    assert settings.default_provider_name == "acme"
    assert settings.cognito is not None
    assert settings.cognito.name == "acme"


def test_the_variables_and_a_file_together_make_default_the_default(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, ACME, **COGNITO)
    assert [p.name for p in settings.provider_set] == ["acme", "default"]
    assert settings.default_provider_name == "default"
    assert settings.cognito is not None
    assert settings.cognito.client_id == "client123"


def test_a_file_that_cannot_be_read_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        Settings.from_env({"CONNECTOR_PROVIDERS_FILE": str(tmp_path / "missing.toml")})


def test_a_file_that_is_not_toml_fails(tmp_path: Path) -> None:
    assert "is not valid TOML" in failure_of(tmp_path, "[providers.acme\n")


def test_a_file_without_providers_fails(tmp_path: Path) -> None:
    assert "at least one [providers.<name>]" in failure_of(tmp_path, "title = 'x'\n")


def test_an_unknown_top_level_key_fails(tmp_path: Path) -> None:
    assert "unknown top-level key 'extra'" in failure_of(tmp_path, "extra = 1\n" + ACME)


def test_a_provider_name_outside_the_rule_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME.replace("providers.acme", 'providers."Acme_1"'))
    assert "[providers.Acme_1]" in message
    assert "1-32 characters of a-z 0-9 -" in message


def test_a_provider_name_over_32_characters_fails(tmp_path: Path) -> None:
    long_name = "a" * 33
    assert "1-32 characters" in failure_of(tmp_path, ACME.replace("acme]", f"{long_name}]"))


def test_a_file_that_defines_default_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME.replace("providers.acme", "providers.default"))
    assert "[providers.default]" in message
    assert "reserved" in message


def test_a_file_default_while_the_variables_are_set_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + "default = true\n", **COGNITO)
    assert "[providers.acme] default:" in message
    assert "AWS_COGNITO_DOMAIN is set" in message


def test_two_defaults_fail(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + "default = true\n" + GLOBEX + "default = true\n")
    assert "[providers.globex] default:" in message


def test_a_default_that_is_not_a_boolean_fails(tmp_path: Path) -> None:
    assert "[providers.acme] default: must be true or false" in failure_of(
        tmp_path, ACME + 'default = "yes"\n'
    )


def test_a_provider_that_is_not_a_table_fails(tmp_path: Path) -> None:
    assert "[providers.acme]: must be a table" in failure_of(tmp_path, "[providers]\nacme = 1\n")


def test_an_unknown_field_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + 'client_sercet = "x"\n')
    assert "[providers.acme] client_sercet: unknown field" in message


@pytest.mark.parametrize("field", ["domain", "client_id", "region", "user_pool_id"])
def test_a_missing_required_field_fails(tmp_path: Path, field: str) -> None:
    text = "\n".join(line for line in ACME.splitlines() if not line.startswith(f"{field} "))
    assert f"[providers.acme] {field}: is required" in failure_of(tmp_path, text)


def test_a_field_of_the_wrong_type_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME.replace('client_id = "acme-client"', "client_id = 7"))
    assert "[providers.acme] client_id: must be a non-empty string" in message


def test_a_region_outside_the_rule_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME.replace('region = "eu-west-1"', 'region = "Europe"'))
    assert "[providers.acme] region:" in message


def test_a_pool_of_another_region_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME.replace("eu-west-1_Acme", "us-east-1_Acme"))
    assert "[providers.acme] user_pool_id:" in message


def test_a_bad_domain_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME.replace('"acme-login"', '"Acme Login"'))
    assert "[providers.acme] domain:" in message


def test_a_bad_issuer_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + 'issuer = "cognito-idp/pool"\n')
    assert "[providers.acme] issuer: must be an absolute http(s) URL" in message


def test_a_secret_variable_that_is_not_set_fails(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(ACME)
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"CONNECTOR_PROVIDERS_FILE": str(path)})
    assert "[providers.acme] client_secret_env: the variable ACME_SECRET is not set" in str(
        caught.value
    )


def test_a_secret_given_twice_fails(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + 'client_secret = "inline"\n')
    assert "[providers.acme] client_secret_env: give client_secret or client_secret_env" in message


def test_scopes_without_openid_fail(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + 'scopes = ["email"]\n')
    assert "[providers.acme] scopes: must include 'openid'" in message


def test_scopes_that_are_not_a_list_fail(tmp_path: Path) -> None:
    message = failure_of(tmp_path, ACME + 'scopes = "openid email"\n')
    assert "[providers.acme] scopes: must be a list" in message


def test_a_bad_role_arn_fails(tmp_path: Path) -> None:
    assert "[providers.acme] role_arn:" in failure_of(tmp_path, ACME + 'role_arn = "admin"\n')


@pytest.mark.parametrize("duration", ["60", "50000", '"3600"', "true"])
def test_a_credentials_duration_outside_the_range_fails(tmp_path: Path, duration: str) -> None:
    message = failure_of(tmp_path, ACME + f"credentials_duration = {duration}\n")
    assert "[providers.acme] credentials_duration:" in message


def test_production_refuses_a_providers_http_issuer(tmp_path: Path) -> None:
    text = ACME + 'issuer = "http://idp.example.com/pool"\n'
    message = failure_of(
        tmp_path,
        text,
        CONNECTOR_ENV="production",
        CONNECTOR_PUBLIC_URL="https://connector.example.com",
        CONNECTOR_ENCRYPTION_KEYS="a" * 43 + "=",
    )
    assert "[providers.acme] issuer must be an https:// URL" in message
