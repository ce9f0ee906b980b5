"""Webhook endpoints and delivery limits, from the environment (validated at start-up).

`CONNECTOR_WEBHOOK_URL` + `CONNECTOR_WEBHOOK_SECRET` name one endpoint; `CONNECTOR_WEBHOOKS_FILE`
names a TOML file with more, each `[[webhooks]]` holding `url` and `secret_env` (the variable that
holds its secret, so the file itself holds none). Secrets are Standard Webhooks' `whsec_<base64>`.
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from connector.errors import ConfigurationError

WHSEC_PREFIX = "whsec_"
_MIN_SECRET_BYTES = 24


@dataclass(frozen=True, slots=True, repr=False)
class WebhookEndpoint:
    url: str
    secret: bytes
    """The decoded HMAC key (never printed: repr shows the URL only)."""

    def __repr__(self) -> str:
        return f"WebhookEndpoint(url={self.url!r})"


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    endpoints: tuple[WebhookEndpoint, ...] = ()
    timeout_seconds: float = 10.0
    """One delivery attempt, connect to last byte (CONNECTOR_WEBHOOK_TIMEOUT)."""
    horizon_seconds: float = 86400.0
    """Retries stop this long after the event (CONNECTOR_WEBHOOK_HORIZON); then failed."""
    poll_seconds: float = 1.0
    """How often a replica looks for due events."""
    lease_seconds: float = 60.0
    """How long a claimed event stays with the replica that claimed it (> timeout): a replica
    that dies mid-delivery holds the event this long (CONNECTOR_WEBHOOK_LEASE)."""
    first_retry_seconds: float = 2.0
    max_retry_seconds: float = 3600.0

    @property
    def enabled(self) -> bool:
        return bool(self.endpoints)

    def endpoint(self, url: str) -> WebhookEndpoint | None:
        return next((e for e in self.endpoints if e.url == url), None)


def webhook_settings(environ: Mapping[str, str]) -> WebhookSettings:
    endpoints = [*_single(environ), *_from_file(environ)]
    urls = [e.url for e in endpoints]
    if len(set(urls)) != len(urls):
        raise ConfigurationError("CONNECTOR_WEBHOOKS_FILE", "a webhook URL is configured twice")
    timeout = _seconds(environ, "CONNECTOR_WEBHOOK_TIMEOUT", 10.0, high=60.0)
    return WebhookSettings(
        endpoints=tuple(endpoints),
        timeout_seconds=timeout,
        horizon_seconds=_seconds(environ, "CONNECTOR_WEBHOOK_HORIZON", 86400.0, high=7 * 86400),
        lease_seconds=_lease(environ, timeout),
    )


def _lease(environ: Mapping[str, str], timeout: float) -> float:
    """CONNECTOR_WEBHOOK_LEASE, else 3x the attempt timeout and at least 60 s. It must outlast
    an attempt: a shorter lease would let another replica send the event while the first one
    still waits for its answer."""
    name = "CONNECTOR_WEBHOOK_LEASE"
    lease = _seconds(environ, name, max(60.0, timeout * 3), high=86400.0)
    if lease <= timeout:
        raise ConfigurationError(
            name, f"must be longer than CONNECTOR_WEBHOOK_TIMEOUT ({timeout:g} s)"
        )
    return lease


def _single(environ: Mapping[str, str]) -> list[WebhookEndpoint]:
    url = environ.get("CONNECTOR_WEBHOOK_URL", "").strip()
    secret = environ.get("CONNECTOR_WEBHOOK_SECRET", "").strip()
    if not url and not secret:
        return []
    if not url:
        raise ConfigurationError("CONNECTOR_WEBHOOK_URL", "required with CONNECTOR_WEBHOOK_SECRET")
    if not secret:
        raise ConfigurationError("CONNECTOR_WEBHOOK_SECRET", "required with CONNECTOR_WEBHOOK_URL")
    return [
        WebhookEndpoint(
            _url(url, "CONNECTOR_WEBHOOK_URL"), parse_secret(secret, "CONNECTOR_WEBHOOK_SECRET")
        )
    ]


def _from_file(environ: Mapping[str, str]) -> list[WebhookEndpoint]:
    name = "CONNECTOR_WEBHOOKS_FILE"
    path = environ.get(name, "").strip()
    if not path:
        return []
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(name, f"cannot read {path}: {type(exc).__name__}") from None
    entries = document.get("webhooks", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigurationError(name, "expected [[webhooks]] tables with url and secret_env")
    endpoints = []
    for number, entry in enumerate(entries, start=1):
        where = f"{name} (webhook {number})"
        url, secret_env = entry.get("url"), entry.get("secret_env")
        if not isinstance(url, str) or not isinstance(secret_env, str) or not secret_env:
            raise ConfigurationError(where, "each [[webhooks]] needs url and secret_env strings")
        secret = environ.get(secret_env, "").strip()
        if not secret:
            raise ConfigurationError(secret_env, f"named by {where} and not set")
        endpoints.append(WebhookEndpoint(_url(url, where), parse_secret(secret, secret_env)))
    return endpoints


def parse_secret(text: str, name: str) -> bytes:
    """`whsec_<base64>` -> the key bytes (at least 24)."""
    if not text.startswith(WHSEC_PREFIX):
        raise ConfigurationError(name, f"must be a Standard Webhooks secret ({WHSEC_PREFIX}…)")
    try:
        key = base64.b64decode(text.removeprefix(WHSEC_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(name, f"is not {WHSEC_PREFIX} followed by base64") from None
    if len(key) < _MIN_SECRET_BYTES:
        raise ConfigurationError(name, f"must hold at least {_MIN_SECRET_BYTES} bytes")
    return key


def _url(url: str, name: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(name, "must be an http:// or https:// URL")
    return url


def _seconds(environ: Mapping[str, str], name: str, default: float, *, high: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(name, "must be a number of seconds") from None
    if not 0 < value <= high:
        raise ConfigurationError(name, f"must be between 0 and {high:g} seconds")
    return value
