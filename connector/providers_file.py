"""CONNECTOR_PROVIDERS_FILE: several Cognito set-ups, one `[providers.<name>]` TOML table each.

    [providers.acme]
    domain = "acme-login"                   # a Hosted UI domain prefix, or a full http(s) URL
    client_id = "1example23456789"
    client_secret_env = "ACME_CLIENT_SECRET"  # the secret stays out of the file (or client_secret)
    region = "eu-west-1"
    user_pool_id = "eu-west-1_AbCdEf123"
    identity_pool_id = "eu-west-1:..."      # optional
    issuer = "https://..."                  # optional: derived from region and pool
    scopes = ["openid", "email", "profile"] # optional
    role_arn = "arn:aws:iam::123456789012:role/acme-users"   # optional: the basic flow
    credentials_duration = 3600             # optional, 900-43200 seconds
    default = true                          # optional: at most one provider

Every failure is one ConfigurationError line naming the file, the provider and the field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from connector.domain.providers import DEFAULT_PROVIDER, is_provider_name
from connector.errors import ConfigurationError
from connector.settings import (
    PROVIDERS_FILE,
    CognitoSettings,
)

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELDS = frozenset(
    {
        "domain",
        "client_id",
        "client_secret",
        "client_secret_env",
        "region",
        "user_pool_id",
        "identity_pool_id",
        "issuer",
        "scopes",
        "role_arn",
        "credentials_duration",
        "default",
    }
)


class _Table:
    """Typed reads of one `[providers.<name>]` table; each failure names file, provider, field."""

    def __init__(self, path: str, name: str, values: Mapping[str, Any]) -> None:
        self.path = path
        self.name = name
        self._values = values

    def fail(self, field: str, problem: str) -> NoReturn:
        raise ConfigurationError(
            PROVIDERS_FILE, f"{self.path}: [providers.{self.name}] {field}: {problem}"
        )

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self._values.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(field, "must be a non-empty string")
        return value.strip()

    def required(self, field: str) -> str:
        value = self.text(field, required=True)
        assert value is not None  # noqa: S101 - `required` raised otherwise
        return value

    def flag(self, field: str) -> bool:
        value = self._values.get(field, False)
        if not isinstance(value, bool):
            self.fail(field, "must be true or false")
        return value

    def url(self, field: str, default: str) -> str:
        value = self.text(field) or default
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            self.fail(field, "must be an absolute http(s) URL")
        return value.rstrip("/")


def load_providers(
    path: str, environ: Mapping[str, str], *, variables_set: bool
) -> tuple[list[CognitoSettings], str | None]:
    """The file's providers and the name of its `default = true` one (None if none).

    `variables_set`: AWS_COGNITO_* define the provider `default` too, so no provider of the file
    may claim to be the default."""
    document = _read(path)
    tables = document.get("providers")
    if not isinstance(tables, dict) or not tables:
        raise ConfigurationError(
            PROVIDERS_FILE, f"{path}: needs at least one [providers.<name>] table"
        )
    unexpected = sorted(set(document) - {"providers"})
    if unexpected:
        raise ConfigurationError(
            PROVIDERS_FILE, f"{path}: unknown top-level key {unexpected[0]!r} (only [providers.*])"
        )
    providers: list[CognitoSettings] = []
    defaults: list[str] = []
    for name, values in tables.items():
        provider, is_default = _provider(path, name, values, environ)
        if is_default:
            if variables_set:
                _Table(path, name, values).fail(
                    "default",
                    "AWS_COGNITO_DOMAIN is set, so the variables' provider `default` is the "
                    "default: remove `default = true` or the AWS_COGNITO_* variables",
                )
            if defaults:
                _Table(path, name, values).fail(
                    "default", f"[providers.{defaults[0]}] is the default already (one only)"
                )
            defaults.append(name)
        providers.append(provider)
    return providers, (defaults[0] if defaults else None)


def _read(path: str) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(PROVIDERS_FILE, f"{path}: cannot read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigurationError(PROVIDERS_FILE, f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(PROVIDERS_FILE, f"{path}: is not valid TOML ({exc})") from None


def _provider(
    path: str, name: str, values: Any, environ: Mapping[str, str]
) -> tuple[CognitoSettings, bool]:
    if not is_provider_name(name):
        raise ConfigurationError(
            PROVIDERS_FILE,
            f"{path}: [providers.{name}]: a provider name is 1-32 characters of a-z 0-9 -",
        )
    if name == DEFAULT_PROVIDER:
        raise ConfigurationError(
            PROVIDERS_FILE,
            f"{path}: [providers.{name}]: `default` is reserved for the AWS_COGNITO_* variables;"
            " give this provider another name (and `default = true` to make it the default)",
        )
    if not isinstance(values, dict):
        raise ConfigurationError(PROVIDERS_FILE, f"{path}: [providers.{name}]: must be a table")
    table = _Table(path, name, values)
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        table.fail(unknown[0], f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    region = table.required("region")
    if not _REGION.fullmatch(region):
        table.fail("region", f"{region!r} is not an AWS region name")
    pool_id = table.required("user_pool_id")
    if not pool_id.startswith(f"{region}_"):
        table.fail("user_pool_id", f"must look like {region}_XXXXXXXXX (a pool in `region`)")
    return (
        CognitoSettings(
            base_url=_hosted_ui_base(table, table.required("domain"), region),
            client_id=table.required("client_id"),
            client_secret=_client_secret(table, environ),
            region=region,
            user_pool_id=pool_id,
            identity_pool_id=table.text("identity_pool_id"),
            issuer=table.url("issuer", f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"),
            scopes=_scopes(table, values.get("scopes")),
            role_arn=_role_arn(table),
            session_seconds=_duration(table, values.get("credentials_duration", 3600)),
            name=name,
        ),
        table.flag("default"),
    )


def _hosted_ui_base(table: _Table, domain: str, region: str) -> str:
    if "://" in domain:
        return table.url("domain", domain)
    if not _DOMAIN_PREFIX.fullmatch(domain):
        table.fail("domain", "must be a domain prefix (a-z, 0-9, -) or a full http(s) URL")
    return f"https://{domain}.auth.{region}.amazoncognito.com"


def _client_secret(table: _Table, environ: Mapping[str, str]) -> str | None:
    inline, variable = table.text("client_secret"), table.text("client_secret_env")
    if inline is not None and variable is not None:
        table.fail("client_secret_env", "give client_secret or client_secret_env, not both")
    if variable is None:
        return inline
    if not _ENV_NAME.fullmatch(variable):
        table.fail("client_secret_env", "must name an environment variable")
    secret = environ.get(variable, "").strip()
    if not secret:
        table.fail("client_secret_env", f"the variable {variable} is not set")
    return secret


def _scopes(table: _Table, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ("openid", "email", "profile")
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(s, str) and s and not any(c.isspace() for c in s) for s in raw)
    ):
        table.fail("scopes", "must be a list of scope names without spaces")
    if "openid" not in raw:
        table.fail("scopes", "must include 'openid'")
    return tuple(raw)


def _role_arn(table: _Table) -> str | None:
    arn = table.text("role_arn")
    if arn is not None and not _ROLE_ARN.fullmatch(arn):
        table.fail("role_arn", "must be an IAM role ARN")
    return arn


def _duration(table: _Table, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 900 <= raw <= 43200:
        table.fail("credentials_duration", "must be a whole number of seconds, 900-43200")
    return raw
