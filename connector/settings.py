"""Grouped, frozen settings built from an environment mapping — never read at import time."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from connector.domain.models import ROLE_ARN
from connector.domain.providers import DEFAULT_PROVIDER
from connector.domain.rate_limits import Rate, ScopeClass
from connector.errors import ConfigurationError
from connector.webhook_settings import WebhookSettings, webhook_settings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.connector/connector.db"
DEFAULT_DEV_KEY_FILE = ".connector/dev-encryption.key"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# A key id (multi-Region ones start with mrk-), an alias name, or the ARN of either.
_KMS_KEY_ID = r"([0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KMS_ARN = r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:"
_KMS_KEY = re.compile(
    rf"{_KMS_KEY_ID}|{_KMS_ARN}key/{_KMS_KEY_ID}|({_KMS_ARN})?alias/[A-Za-z0-9/_-]{{1,250}}"
)
PROVIDERS_FILE = "CONNECTOR_PROVIDERS_FILE"
_TRUE = {"1", "true", "yes", "on"}
# Claims that can name an app's user: `sub` is immutable and unique per pool; a username is
# unique per pool; an email only counts when the token says it was verified.
BINDING_CLAIMS = ("sub", "cognito:username", "email")
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class CognitoSettings:
    """The Cognito user pool, app client and identity pool the connector signs users into."""

    base_url: str
    """Hosted UI base URL: `AWS_COGNITO_DOMAIN` expanded from a prefix, or given in full."""
    client_id: str
    client_secret: str | None
    """Absent for public clients, which rely on PKCE alone."""
    region: str
    user_pool_id: str
    identity_pool_id: str | None
    issuer: str
    """ID-token issuer; the JWKS is read from `<issuer>/.well-known/jwks.json`."""
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    role_arn: str | None = None
    """With a role ARN, credentials come from the basic flow (GetOpenIdToken + STS
    AssumeRoleWithWebIdentity, session named after the identity); without, the enhanced flow."""
    session_seconds: int = 3600
    """Lifetime asked for in the basic flow (900-43200 s)."""
    name: str = DEFAULT_PROVIDER
    """The provider's name: `default` for the `AWS_COGNITO_*` variables, else the name of its
    `[providers.<name>]` table in CONNECTOR_PROVIDERS_FILE."""

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def logins_key(self) -> str:
        """The identity-pool `Logins` key: the issuer without its scheme."""
        return self.issuer.split("://", 1)[1]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How the connector is reached and where browsers may be sent back to."""

    public_url: str = "http://127.0.0.1:8000"
    """Base URL as browsers see it; the OAuth callback is `<public url>/callback`."""
    redirect_allowlist: tuple[str, ...] = ()
    """Return URLs accepted on /connect, compared as raw strings."""
    environment: str = "development"
    """`production` refuses development conveniences such as a generated encryption key."""

    @property
    def callback_url(self) -> str:
        return f"{self.public_url}/callback"


@dataclass(frozen=True, slots=True)
class IdentityBinding:
    """How a sign-in at Cognito is bound to the app's user (`CONNECTOR_IDENTITY_BINDING`).

    - `confirm`: the callback keeps a pending grant; the app confirms that its signed-in user
      is the flow's user (`POST /connect/confirm`) before anything is stored.
    - `claim`: the app's user id must equal `claim` of the verified ID token.
    - `none`: no binding (tests and trusted set-ups; refused in production).
    """

    mode: Literal["confirm", "claim", "none"] = "confirm"
    claim: str | None = None
    """The ID-token claim of `claim` mode: `sub`, `cognito:username` or `email` (verified)."""


@dataclass(frozen=True, slots=True)
class S3StoreSettings:
    """Options of the `s3://` store (refused with a SQL database URL)."""

    kms_key_id: str | None = None
    """SSE-KMS under this key (id, ARN, alias or alias ARN); None means SSE-S3 (AES256)."""
    conditional_writes: bool = True
    """Version checks by S3 conditional writes; false selects the read-check-write fallback
    for endpoints without them (racy across replicas, see docs/decisions.md)."""


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """The store of record for connections and API keys."""

    url: str = DEFAULT_DATABASE_URL
    """`sqlite+aiosqlite:///…`, `postgresql+asyncpg://…` or `s3://bucket/prefix/`."""
    auto_migrate: bool = True
    """Migrate at start-up; defaults to on for SQLite only (PostgreSQL: run `connector migrate`)."""
    s3: S3StoreSettings = field(default_factory=S3StoreSettings)

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """Redis (or the embedded memory:// cache) for state, locks, tokens and credentials."""

    url: str = "memory://"
    prefix: str = "connector:"
    """Namespaces every key so several deployments can share one Redis."""
    socket_timeout: float = 0.25
    """Short on purpose: a slow cache is skipped, never waited on."""
    connect_timeout: float = 0.25
    retry_interval: float = 2.0
    """After a call the cache did not answer, calls skip it for this long, then one call
    probes it: a frozen Redis costs one timeout per interval per process, not one per call."""


@dataclass(frozen=True, slots=True)
class DeadlineSettings:
    """Upper bounds on upstream calls, connects, reads and retries together: each well under
    the patience of the client waiting for the answer (UPSTREAM_UNAVAILABLE when exceeded)."""

    aws_seconds: float = 10.0
    """Each S3 or Lambda call made as the user. A streamed object body has it instead as an
    idle timeout on every read, so a slow but moving transfer is never cut."""
    cognito_seconds: float = 5.0
    """Cognito's token and revoke endpoints, the JWKS, Cognito Identity and STS; also the
    longest a request waits for another replica's refresh of the same user."""
    database_seconds: float = 5.0
    """Each store operation, from taking a pooled connection (or connecting) to the last row."""


@dataclass(frozen=True, slots=True)
class EncryptionSettings:
    """Fernet keys sealing tokens at rest. The first encrypts; all decrypt."""

    keys: tuple[str, ...] = ()
    """Empty means: use (or create) the development key file, with a loud warning."""
    dev_key_file: str = DEFAULT_DEV_KEY_FILE


@dataclass(frozen=True, slots=True)
class FreshnessSettings:
    """Caps on the refresh windows (last quarter / last sixth of a lifetime)."""

    advisory_cap_seconds: int = 900
    mandatory_cap_seconds: int = 600


RPC_ENVELOPE_ALLOWANCE = 1 << 20
"""What a JSON-RPC body may hold beyond its inline objects (calls, params, payloads)."""


@dataclass(frozen=True, slots=True)
class RpcSettings:
    """Bounds of POST /rpc."""

    max_batch: int = 50
    """Calls in one JSON-RPC batch; a larger batch is refused whole (-32600)."""
    max_object_bytes: int = 5 << 20
    """Largest object `getObject` returns inline (base64); beyond it, callers presign."""
    max_inline_bytes: int = 5 << 20
    """Object bytes one HTTP request carries inline, summed over a batch: `getObject` answers
    and `putObject` bodies. Defaults to `max_object_bytes`; items past it are refused."""
    batch_concurrency: int = 4
    """Calls of one batch that run at the same time."""

    @property
    def max_request_bytes(self) -> int:
        """Largest /rpc body: the inline budget as base64, and an allowance for the rest."""
        return 4 * -(-self.max_inline_bytes // 3) + RPC_ENVELOPE_ALLOWANCE


MCP_READ_BYTES_DEFAULT = 1 << 20
_RESOURCE_SERVER = re.compile(r"[A-Za-z0-9._:/-]{1,256}")


@dataclass(frozen=True, slots=True)
class McpSettings:
    """The MCP endpoint (`/mcp`): who may call it in user mode, and its bounds."""

    client_ids: tuple[str, ...] = ()
    """Cognito app clients whose access tokens user mode accepts (`CONNECTOR_MCP_CLIENT_IDS`);
    empty turns user mode off. Never the connector's own client (checked at start-up)."""
    resource_server: str = "connector"
    """The Cognito resource-server identifier: its scopes `<id>/mcp.read` and `<id>/mcp.write`
    stand for the audience and map to tool sets."""
    policy_key_id: str | None = None
    """The id of an API key whose scopes and bucket/function policy bound every user-mode call
    (`CONNECTOR_MCP_POLICY_KEY`); without it, user mode is bound by the token's scopes only."""
    max_read_bytes: int = MCP_READ_BYTES_DEFAULT
    """Largest object `read_object` returns as text and `write_object` accepts; beyond it, a
    presigned URL. Never more than this is held for one call."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins allowed besides the public URL's own (the `Origin` header is checked)."""

    @property
    def read_scope(self) -> str:
        return f"{self.resource_server}/mcp.read"

    @property
    def write_scope(self) -> str:
        return f"{self.resource_server}/mcp.write"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """STS sessions the connector names itself: narrowed credentials and CloudTrail names."""

    restricted_role_arn: str | None = None
    """`CONNECTOR_RESTRICTED_ROLE_ARN`: the role a restricted key's credentials are minted for,
    through the identity pool's basic (classic) flow with a session policy. Defaults to
    `AWS_COGNITO_ROLE_ARN`; without either, restricted keys are refused `credentials:read`."""
    session_names: Literal["user", "hash"] = "user"
    """`CONNECTOR_SESSION_NAME`: `user` names sessions after the user id when STS accepts it
    (else a keyed hash); `hash` always uses the keyed hash (user ids that are emails)."""


COGNITO_OPERATIONS = ("GetId", "GetCredentialsForIdentity", "GetOpenIdToken", "token")
"""Budgeted Cognito calls: three Cognito Identity operations and the token endpoint (code
exchanges, refreshes and revocations)."""
_MINUTE = 60


def _per_minute(amount: int) -> Rate:
    return Rate(amount, _MINUTE)


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """Request limits per API key and per (key, user) by scope class, and the budgets of
    calls to Cognito; every replica counts against the same limits (on Redis)."""

    enabled: bool = True
    """Off: no request is counted (the Cognito budgets still hold)."""
    per_key: dict[ScopeClass, Rate] = field(
        default_factory=lambda: {
            ScopeClass.CONNECT: _per_minute(120),
            ScopeClass.READ: _per_minute(1200),
            ScopeClass.WRITE: _per_minute(300),
            ScopeClass.CREDENTIALS: _per_minute(600),
        }
    )
    """Requests of one API key, all users together, by scope class."""
    per_user: dict[ScopeClass, Rate] = field(
        default_factory=lambda: {
            ScopeClass.CONNECT: _per_minute(30),
            ScopeClass.READ: _per_minute(600),
            ScopeClass.WRITE: _per_minute(120),
            ScopeClass.CREDENTIALS: _per_minute(120),
        }
    )
    """Requests of one API key for one user (X-User-Id), by scope class."""
    cognito: dict[str, Rate] = field(
        default_factory=lambda: {
            # Published quotas: GetId 25/s per account; the token endpoint 300/s per source IP.
            "GetId": Rate(20, 1),
            "GetCredentialsForIdentity": Rate(50, 1),
            "GetOpenIdToken": Rate(50, 1),
            "token": Rate(250, 1),
        }
    )
    """Calls to Cognito per second, all replicas together, by operation."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the composition root needs, validated once at start-up."""

    cognito: CognitoSettings | None = None
    """The default provider: `AWS_COGNITO_*`, or the file's `default = true` provider. None
    while no provider is configured (the OAuth routes then answer INTERNAL_ERROR)."""
    providers: tuple[CognitoSettings, ...] = ()
    """Every provider, by name, when CONNECTOR_PROVIDERS_FILE is set; empty otherwise (then
    `cognito` alone is the one provider)."""
    default_provider: str | None = None
    """With a providers file: the default provider's name (None when there is none)."""
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    encryption: EncryptionSettings = field(default_factory=EncryptionSettings)
    freshness: FreshnessSettings = field(default_factory=FreshnessSettings)
    rpc: RpcSettings = field(default_factory=RpcSettings)
    binding: IdentityBinding = field(default_factory=IdentityBinding)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)
    mcp: McpSettings = field(default_factory=McpSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)

    @property
    def provider_set(self) -> tuple[CognitoSettings, ...]:
        """Every configured provider (the `AWS_COGNITO_*` one alone when there is no file)."""
        if self.providers:
            return self.providers
        return (self.cognito,) if self.cognito is not None else ()

    @property
    def default_provider_name(self) -> str | None:
        """The provider a request that names none acts on; None when several and no default."""
        if self.providers:
            return self.default_provider
        return self.cognito.name if self.cognito is not None else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build and validate settings; raise ConfigurationError naming the first bad variable."""
        env = _Env(environ)
        server = ServerSettings(
            public_url=env.url("CONNECTOR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            redirect_allowlist=env.url_list("CONNECTOR_REDIRECT_ALLOWLIST"),
            environment=env.choice("CONNECTOR_ENV", ("development", "production"), "development"),
        )
        encryption = EncryptionSettings(
            keys=env.fernet_keys("CONNECTOR_ENCRYPTION_KEYS"),
            dev_key_file=env.text("CONNECTOR_DEV_KEY_FILE", DEFAULT_DEV_KEY_FILE),
        )
        if server.environment == "production" and not encryption.keys:
            raise ConfigurationError(
                "CONNECTOR_ENCRYPTION_KEYS", "required when CONNECTOR_ENV=production"
            )
        cognito = _cognito(env)
        providers, default = _providers(env, cognito)
        if default is not None:
            cognito = next(p for p in providers if p.name == default)
        elif providers:
            cognito = None
        if server.environment == "production":
            _require_https(server, providers or ((cognito,) if cognito else ()), env)
        return cls(
            cognito=cognito,
            providers=providers,
            default_provider=default,
            server=server,
            binding=_binding(env, server.environment),
            database=_database(env),
            cache=CacheSettings(
                url=env.cache_url("CONNECTOR_REDIS_URL"),
                prefix=env.text("CONNECTOR_REDIS_PREFIX", "connector:"),
                socket_timeout=env.seconds("CONNECTOR_REDIS_SOCKET_TIMEOUT", 0.25),
                connect_timeout=env.seconds("CONNECTOR_REDIS_CONNECT_TIMEOUT", 0.25),
                retry_interval=env.seconds("CONNECTOR_REDIS_RETRY_INTERVAL", 2.0, high=300),
            ),
            encryption=encryption,
            freshness=FreshnessSettings(
                advisory_cap_seconds=int(env.seconds("CONNECTOR_ADVISORY_REFRESH_CAP", 900)),
                mandatory_cap_seconds=int(env.seconds("CONNECTOR_MANDATORY_REFRESH_CAP", 600)),
            ),
            rpc=_rpc(env),
            deadlines=DeadlineSettings(
                # Lambda runs a function for up to 15 minutes; nothing else needs that long.
                aws_seconds=env.seconds("CONNECTOR_AWS_TIMEOUT", 10.0, high=900),
                cognito_seconds=env.seconds("CONNECTOR_COGNITO_TIMEOUT", 5.0, high=60),
                database_seconds=env.seconds("CONNECTOR_DATABASE_TIMEOUT", 5.0, high=300),
            ),
            mcp=_mcp(env, cognito),
            sessions=SessionSettings(
                restricted_role_arn=_role_arn(env, "CONNECTOR_RESTRICTED_ROLE_ARN")
                or (cognito.role_arn if cognito else None),
                session_names=(
                    "hash"
                    if env.choice("CONNECTOR_SESSION_NAME", ("user", "hash"), "user") == "hash"
                    else "user"
                ),
            ),
            webhooks=webhook_settings(environ),
            rate_limits=_rate_limits(env),
        )


def _mcp(env: _Env, cognito: CognitoSettings | None) -> McpSettings:
    client_ids = tuple(
        dict.fromkeys(
            c.strip() for c in env.text("CONNECTOR_MCP_CLIENT_IDS", "").split(",") if c.strip()
        )
    )
    if client_ids and cognito is None:
        raise ConfigurationError("CONNECTOR_MCP_CLIENT_IDS", "needs Cognito (AWS_COGNITO_DOMAIN)")
    if cognito is not None and cognito.client_id in client_ids:
        # Its access tokens are what `token:read` hands out to any key that may read tokens:
        # accepting them here would let such a key act past every policy of its own.
        raise ConfigurationError(
            "CONNECTOR_MCP_CLIENT_IDS",
            "must not include the connector's own app client (AWS_COGNITO_CLIENT_ID)",
        )
    resource_server = env.text("CONNECTOR_MCP_RESOURCE_SERVER", "connector") or "connector"
    if not _RESOURCE_SERVER.fullmatch(resource_server):
        raise ConfigurationError(
            "CONNECTOR_MCP_RESOURCE_SERVER", "must be a Cognito resource-server identifier"
        )
    origins = env.url_list("CONNECTOR_MCP_ALLOWED_ORIGINS")
    for origin in origins:
        parts = urlsplit(origin)
        if parts.path or parts.query or parts.fragment:
            raise ConfigurationError(
                "CONNECTOR_MCP_ALLOWED_ORIGINS", "each entry is an origin: scheme://host[:port]"
            )
    return McpSettings(
        client_ids=client_ids,
        resource_server=resource_server,
        policy_key_id=env.text("CONNECTOR_MCP_POLICY_KEY", "") or None,
        max_read_bytes=env.count(
            "CONNECTOR_MCP_MAX_READ_BYTES", MCP_READ_BYTES_DEFAULT, high=16 << 20
        ),
        allowed_origins=origins,
    )


def _rate_limits(env: _Env) -> RateLimitSettings:
    defaults = RateLimitSettings()
    classes = tuple(c.value for c in ScopeClass)

    def by_class(name: str, default: dict[ScopeClass, Rate]) -> dict[ScopeClass, Rate]:
        rates = env.rates(name, {str(c): rate for c, rate in default.items()}, classes)
        return {ScopeClass(c): rate for c, rate in rates.items()}

    return RateLimitSettings(
        enabled=env.flag("CONNECTOR_RATE_LIMITS_ENABLED", True),
        per_key=by_class("CONNECTOR_RATE_LIMITS_PER_KEY", defaults.per_key),
        per_user=by_class("CONNECTOR_RATE_LIMITS_PER_USER", defaults.per_user),
        cognito=env.rates("CONNECTOR_COGNITO_BUDGETS", defaults.cognito, COGNITO_OPERATIONS),
    )


def _providers(
    env: _Env, from_variables: CognitoSettings | None
) -> tuple[tuple[CognitoSettings, ...], str | None]:
    """CONNECTOR_PROVIDERS_FILE's providers beside the `AWS_COGNITO_*` one (named `default`),
    sorted by name, and the default's name; ((), None) without a file."""
    path = env.text(PROVIDERS_FILE, "")
    if not path:
        return (), None
    # Imported here: tomllib and the file's rules load only for deployments that use a file.
    from connector.providers_file import load_providers  # noqa: PLC0415

    listed, default = load_providers(path, env.environ, variables_set=from_variables is not None)
    if from_variables is not None:
        listed, default = [*listed, from_variables], from_variables.name
    return tuple(sorted(listed, key=lambda provider: provider.name)), default


def _rpc(env: _Env) -> RpcSettings:
    max_object = env.count("CONNECTOR_RPC_MAX_OBJECT_BYTES", 5 << 20, high=64 << 20)
    max_inline = env.count("CONNECTOR_RPC_MAX_INLINE_BYTES", max_object, high=256 << 20)
    if max_inline < max_object:
        raise ConfigurationError(
            "CONNECTOR_RPC_MAX_INLINE_BYTES",
            "must be at least CONNECTOR_RPC_MAX_OBJECT_BYTES (one object must fit a request)",
        )
    return RpcSettings(
        max_batch=env.count("CONNECTOR_RPC_MAX_BATCH", 50, high=1000),
        max_object_bytes=max_object,
        max_inline_bytes=max_inline,
        batch_concurrency=env.count("CONNECTOR_RPC_BATCH_CONCURRENCY", 4, high=50),
    )


def _binding(env: _Env, environment: str) -> IdentityBinding:
    name = "CONNECTOR_IDENTITY_BINDING"
    raw = env.text(name, "confirm") or "confirm"
    mode, _, claim = raw.partition(":")  # `claim:cognito:username` splits at the first colon
    if mode == "claim":
        if claim not in BINDING_CLAIMS:
            raise ConfigurationError(name, f"claim:<name> takes one of {', '.join(BINDING_CLAIMS)}")
        return IdentityBinding(mode="claim", claim=claim)
    if claim or mode not in ("confirm", "none"):
        raise ConfigurationError(name, "must be confirm, claim:<name> or none")
    if mode == "none" and environment == "production":
        raise ConfigurationError(name, "none is refused when CONNECTOR_ENV=production")
    return IdentityBinding(mode="confirm") if mode == "confirm" else IdentityBinding(mode="none")


def _database(env: _Env) -> DatabaseSettings:
    url = env.database_url("CONNECTOR_DATABASE_URL")
    return DatabaseSettings(
        url=url,
        auto_migrate=env.flag("CONNECTOR_AUTO_MIGRATE", url.startswith("sqlite")),
        s3=_s3_store(env, url),
    )


def _s3_store(env: _Env, url: str) -> S3StoreSettings:
    kms, conditional = "CONNECTOR_DATABASE_KMS_KEY_ID", "CONNECTOR_DATABASE_CONDITIONAL_WRITES"
    if not url.startswith("s3://"):
        for name in (kms, conditional):
            if env.text(name, ""):
                raise ConfigurationError(name, "applies only to an s3:// CONNECTOR_DATABASE_URL")
        return S3StoreSettings()
    kms_key_id = env.text(kms, "")
    if kms_key_id and not _KMS_KEY.fullmatch(kms_key_id):
        raise ConfigurationError(kms, "must be a KMS key id, key ARN, alias/NAME or alias ARN")
    return S3StoreSettings(
        kms_key_id=kms_key_id or None, conditional_writes=env.flag(conditional, True)
    )


def _cognito(env: _Env) -> CognitoSettings | None:
    domain = env.text("AWS_COGNITO_DOMAIN", "")
    if not domain:
        return None
    region = env.required("AWS_REGION")
    if not _REGION.match(region):
        raise ConfigurationError("AWS_REGION", f"{region!r} is not an AWS region name")
    pool_id = env.required("AWS_COGNITO_USER_POOL_ID")
    if not pool_id.startswith(f"{region}_"):
        raise ConfigurationError(
            "AWS_COGNITO_USER_POOL_ID", f"must look like {region}_XXXXXXXXX (pool in AWS_REGION)"
        )
    scopes = tuple(env.text("CONNECTOR_OAUTH_SCOPES", "openid email profile").split())
    if "openid" not in scopes:
        raise ConfigurationError("CONNECTOR_OAUTH_SCOPES", "must include 'openid'")
    issuer = env.url(
        "AWS_COGNITO_ISSUER", f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
    ).rstrip("/")
    return CognitoSettings(
        base_url=_hosted_ui_base(domain, region),
        client_id=env.required("AWS_COGNITO_CLIENT_ID"),
        client_secret=env.text("AWS_COGNITO_CLIENT_SECRET", "") or None,
        region=region,
        user_pool_id=pool_id,
        identity_pool_id=env.text("AWS_COGNITO_IDENTITY_POOL_ID", "") or None,
        issuer=issuer,
        scopes=scopes,
        role_arn=_role_arn(env, "AWS_COGNITO_ROLE_ARN"),
        session_seconds=_session_seconds(env),
    )


def _role_arn(env: _Env, variable: str) -> str | None:
    arn = env.text(variable, "")
    if arn and not ROLE_ARN.fullmatch(arn):
        raise ConfigurationError(variable, "must be an IAM role ARN")
    return arn or None


def _session_seconds(env: _Env) -> int:
    seconds = int(env.seconds("CONNECTOR_CREDENTIALS_DURATION", 3600))
    if not 900 <= seconds <= 43200:
        raise ConfigurationError("CONNECTOR_CREDENTIALS_DURATION", "must be 900-43200 seconds")
    return seconds


def _hosted_ui_base(domain: str, region: str) -> str:
    if "://" in domain:
        _check_url("AWS_COGNITO_DOMAIN", domain)
        return domain.rstrip("/")
    if not _DOMAIN_PREFIX.match(domain):
        raise ConfigurationError(
            "AWS_COGNITO_DOMAIN", "must be a domain prefix (a-z, 0-9, -) or a full http(s) URL"
        )
    return f"https://{domain}.auth.{region}.amazoncognito.com"


def _require_https(
    server: ServerSettings, providers: tuple[CognitoSettings, ...], env: _Env
) -> None:
    """In production every URL that carries codes, tokens or signing keys is https://: the
    issuer (the JWKS is fetched there), the Hosted UI, the callback, each return URL. Loopback
    hosts are excepted, for a production-shaped stack on one machine."""
    urls = [("CONNECTOR_PUBLIC_URL", "", server.public_url)]
    urls += [
        ("CONNECTOR_REDIRECT_ALLOWLIST", f"entry #{n} ", entry)
        for n, entry in enumerate(server.redirect_allowlist, start=1)
    ]
    for provider in providers:
        if provider.name == DEFAULT_PROVIDER:
            urls += [("AWS_COGNITO_ISSUER", "", provider.issuer)]
            urls += [("AWS_COGNITO_DOMAIN", "", provider.base_url)]
        else:
            where = f"{env.text(PROVIDERS_FILE, '')}: [providers.{provider.name}] "
            urls += [(PROVIDERS_FILE, f"{where}issuer ", provider.issuer)]
            urls += [(PROVIDERS_FILE, f"{where}domain ", provider.base_url)]
    for variable, which, url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
            raise ConfigurationError(
                variable,
                f"{which}must be an https:// URL when CONNECTOR_ENV=production"
                " (http:// is allowed for loopback hosts only)",
            )


def _is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(variable: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(variable, "must be an absolute http(s) URL")


class _Env:
    """Typed reads of one environment mapping; each failure names its variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    @property
    def environ(self) -> Mapping[str, str]:
        return self._environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def required(self, name: str) -> str:
        value = self.text(name, "")
        if not value:
            raise ConfigurationError(name, "is required when AWS_COGNITO_DOMAIN is set")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default) or default
        if value not in allowed:
            raise ConfigurationError(name, f"must be one of {', '.join(allowed)}")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.text(name, "") or default
        _check_url(name, value)
        return value

    def url_list(self, name: str) -> tuple[str, ...]:
        entries = tuple(e.strip() for e in self.text(name, "").split(",") if e.strip())
        for entry in entries:
            _check_url(name, entry)
        return entries

    def seconds(self, name: str, default: float, *, high: float | None = None) -> float:
        raw = self.text(name, "")
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ConfigurationError(name, f"{raw!r} is not a number of seconds")
        if value <= 0:
            raise ConfigurationError(name, "must be greater than zero")
        if high is not None and value > high:
            raise ConfigurationError(name, f"must be at most {high:g} seconds")
        return value

    def count(self, name: str, default: int, *, high: int) -> int:
        raw = self.text(name, "")
        if not raw:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= high:
            raise ConfigurationError(name, f"must be a whole number from 1 to {high}")
        return int(raw)

    def rates(
        self, name: str, defaults: Mapping[str, Rate], names: tuple[str, ...]
    ) -> dict[str, Rate]:
        """`defaults`, with the entries of `NAME=AMOUNT/PERIOD, …` replacing theirs (PERIOD:
        second, minute, hour or day, optionally preceded by a count: `100/10 seconds`)."""
        rates = dict(defaults)
        for entry in filter(None, (e.strip() for e in self.text(name, "").split(","))):
            key, separator, value = (part.strip() for part in entry.partition("="))
            if not separator or key not in names:
                raise ConfigurationError(
                    name, f"entries are NAME=AMOUNT/PERIOD with NAME one of {', '.join(names)}"
                )
            rates[key] = _rate(name, value)
        return rates

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name, "").lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return default if raw == "" else False
        raise ConfigurationError(name, "must be true or false")

    def database_url(self, name: str) -> str:
        value = self.text(name, "") or DEFAULT_DATABASE_URL
        if not value.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://", "s3://")):
            raise ConfigurationError(
                name, "must start with sqlite+aiosqlite:///, postgresql+asyncpg:// or s3://"
            )
        return value

    def cache_url(self, name: str) -> str:
        value = self.text(name, "") or "memory://"
        if not value.startswith(("redis://", "rediss://", "memory://")):
            raise ConfigurationError(name, "must start with redis://, rediss:// or memory://")
        return value

    def fernet_keys(self, name: str) -> tuple[str, ...]:
        keys = tuple(k.strip() for k in self.text(name, "").split(",") if k.strip())
        for index, key in enumerate(keys, start=1):
            if not _looks_like_fernet_key(key):
                raise ConfigurationError(
                    name,
                    f"key #{index} is not a Fernet key (44 url-safe base64 characters);"
                    " make one with `connector encryption-key generate`",
                )
        return keys


_RATE = re.compile(r"(\d{1,9})\s*/\s*(?:(\d{1,6})\s*)?(second|minute|hour|day)s?")
_PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _rate(variable: str, value: str) -> Rate:
    matched = _RATE.fullmatch(value.lower())
    amount = int(matched[1]) if matched else 0
    if matched is None or amount < 1 or (matched[2] is not None and int(matched[2]) < 1):
        raise ConfigurationError(
            variable, f"{value!r} is not a rate such as 600/minute or 100/10 seconds"
        )
    return Rate(amount, int(matched[2] or 1) * _PERIOD_SECONDS[matched[3]])


def _looks_like_fernet_key(key: str) -> bool:
    # Checked without `cryptography` (settings import no SDK); the cipher adapter re-checks.
    return (
        len(key) == 44 and key.endswith("=") and re.fullmatch(r"[A-Za-z0-9_\-]+=", key) is not None
    )
