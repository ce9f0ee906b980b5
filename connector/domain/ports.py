"""Ports: what services need from the outside world, as Protocols adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import datetime
from typing import Literal, Protocol

from connector.domain.aws import (
    AwsCredentials,
    Bucket,
    FunctionDetail,
    FunctionPage,
    InvokeResult,
    ObjectPage,
    ObjectStream,
)
from connector.domain.events import OutboxRecord
from connector.domain.models import ApiKey, Connection, ConnectionStatus
from connector.domain.oauth import AccessClaims, IdentityClaims, TokenGrant
from connector.domain.providers import DEFAULT_PROVIDER
from connector.domain.rate_limits import Counter, Usage


class ConnectionStore(Protocol):
    """The source of truth for connections (SQL, S3). Knows nothing of encryption.

    Connections are keyed by (user id, provider); `provider` defaults to the default provider,
    which is also what every record written before providers existed belongs to.

    Contract (tests/contract/test_connection_store.py runs it against every adapter):
    - `put(c, expected_version=None)` creates; it raises VersionConflictError if the user
      already has a connection with that provider.
    - `put(c, expected_version=N)` replaces only while the stored version is N, else raises
      VersionConflictError (also when the row is gone).
    - The returned connection carries the stored version (1 on create, N + 1 on replace);
      the version field of the argument is ignored.
    - `delete` is idempotent and says whether a row was removed.
    - `iterate` yields every connection once (every provider's), ordered by user id, in
      pages, and tolerates rows being rewritten while it runs (keyset pagination).
    - `find_by_sub` returns the connections of one provider whose stored `sub` is the one given
      (exactly, case-sensitively), at most `limit` of them, ordered by user id; a deleted
      connection or one whose `sub` changed is never returned.
    - `outbox` records given to `put` or `delete` are stored if and only if the change is
      (one transaction): a refused write stores none of them.
    - `count_by_status` counts every stored connection (every provider's) under its status,
      each status present (0 when none has it); a record the store cannot read is not counted.
    """

    async def get(self, user_id: str, provider: str = DEFAULT_PROVIDER) -> Connection | None:
        """The user's connection with `provider`, or None."""
        ...

    async def put(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        outbox: Sequence[OutboxRecord] = (),
    ) -> Connection:
        """Create or replace with a version check; returns what was stored."""
        ...

    async def delete(
        self,
        user_id: str,
        provider: str = DEFAULT_PROVIDER,
        *,
        outbox: Sequence[OutboxRecord] = (),
    ) -> bool:
        """Remove the user's connection with `provider`; True if there was one (the outbox
        records are stored only then)."""
        ...

    async def find_by_sub(
        self, sub: str, provider: str = DEFAULT_PROVIDER, *, limit: int = 2
    ) -> list[Connection]:
        """The connections of `provider` holding this Cognito account (MCP user mode acts for
        the one)."""
        ...

    def iterate(
        self, *, page_size: int = 100, on_unreadable: Callable[[str], None] | None = None
    ) -> AsyncIterator[Connection]:
        """Every stored connection, ordered by user id. A record the store cannot read is
        skipped and its user id handed to `on_unreadable` (one damaged record must not stop a
        walk over everyone else, nor go unreported)."""
        ...

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        """How many connections are in each status (the `connector_connections` gauge). SQL
        answers with one grouped query; the s3:// store reads every connection."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot answer."""
        ...

    async def close(self) -> None:
        """Release connections and pools."""
        ...


class Outbox(Protocol):
    """Webhook events waiting for delivery, in the store of record (SQL table; in-memory fake).

    Contract (tests/contract/test_outbox.py runs it against every adapter):
    - `add` stores records (ids unique); `claim` leases up to `limit` pending records due at
      `now` whose lease is free or expired, oldest due first, to `owner` until `lease_until`:
      two claimers never hold one record at the same time.
    - `settle` writes a record's new state (status, attempts, next attempt, error) only while
      `owner` still holds its lease, releasing it; False when the lease was lost.
    - `redeliver` puts any record back to pending, due at `now`, attempts and lease cleared.
    - `list` answers the newest records first; `get` one by id.
    """

    async def add(self, records: Sequence[OutboxRecord]) -> None:
        """Store new records (events not tied to a connection write)."""
        ...

    async def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxRecord]:
        """Lease due records to `owner`."""
        ...

    async def settle(self, record: OutboxRecord, *, owner: str) -> bool:
        """Store the outcome of an attempt while the lease is `owner`'s, and release it."""
        ...

    async def redeliver(self, record_id: str, *, now: datetime) -> OutboxRecord | None:
        """Back to pending and due now; None for an unknown id."""
        ...

    async def get(self, record_id: str) -> OutboxRecord | None:
        """One record, or None."""
        ...

    async def list(self, *, limit: int = 100) -> list[OutboxRecord]:
        """The newest records first."""
        ...


class ApiKeyStore(Protocol):
    """Where API keys live (the same database as connections).

    Contract: `create` refuses a duplicate id or name with ValidationError; `get` finds
    revoked keys too (the caller decides); `revoke` is idempotent and keeps the first
    revocation time; it matches an id first, then a name.
    """

    async def create(self, key: ApiKey) -> None:
        """Store a new key."""
        ...

    async def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, revoked or not."""
        ...

    async def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        ...

    async def revoke(self, id_or_name: str, at: datetime) -> ApiKey | None:
        """Mark the key revoked; None if no key has that id or name."""
        ...


class Cache(Protocol):
    """A small key-value cache with TTLs (Redis, or fakeredis for memory://).

    Every method raises CacheUnavailableError when the backend is unreachable, slow or
    read-only; misuse (a programming error) raises what it raises. Keys are namespaced by the
    adapter's prefix. TTLs must be positive. `pop` needs Redis >= 6.2 (GETDEL).
    """

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store a value, replacing any; `ttl` in seconds (fractions allowed)."""
        ...

    async def add(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store only if absent (SET NX); True if stored. Locks and single-use records."""
        ...

    async def pop(self, key: str) -> bytes | None:
        """Atomically read and delete (GETDEL): at most one caller ever gets the value."""
        ...

    async def delete(self, *keys: str) -> int:
        """Delete keys; returns how many existed."""
        ...

    async def delete_if_equals(self, key: str, value: bytes) -> bool:
        """Delete only while the key holds `value` (lock release by its owner)."""
        ...

    async def ttl(self, key: str) -> float | None:
        """Seconds left for the key, or None when absent or without expiry."""
        ...

    async def index_add(self, index: str, member: str, score: float) -> None:
        """Put `member` in a sorted index with `score` (ZADD): records to act on by time."""
        ...

    async def index_due(self, index: str, until: float, *, limit: int) -> list[str]:
        """Up to `limit` members whose score is at most `until`, lowest first."""
        ...

    async def index_remove(self, index: str, member: str) -> bool:
        """Take `member` out of the index; True if it was there (one remover wins)."""
        ...

    async def ping(self) -> None:
        """Raise CacheUnavailableError if the cache cannot answer."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class RateLimiter(Protocol):
    """Counters over clock-aligned fixed windows, shared by every replica (the `limits` library
    on Redis), or by one process (its in-memory storage, for memory://).

    Contract (tests/contract/test_rate_limiter.py runs it against every adapter):
    - `hit(counters)` adds one to each counter in the window the current time falls in and
      returns, in order, each counter's `Usage` after the hit. Increments are atomic: N hits
      from any number of replicas count N, never fewer (no read-then-write).
    - A window is aligned to the epoch (`window_of`): it starts at zero and `reset_after` is
      the time left in it. Counters of different names or rates never share a count.
    - Every counter is hit even when another is over its amount (callers decide).
    - Raises CacheUnavailableError when the backend is unreachable or slow, within a bounded
      time (its timeouts, and at once while it is known to be down), never hangs.
    """

    async def hit(self, counters: Sequence[Counter]) -> list[Usage]:
        """One more unit on each counter; their usage after it."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class UpstreamBudget(Protocol):
    """A budget of calls to an upstream, shared by every replica (Cognito's quotas).

    `spend(operation)` takes one call from `operation`'s budget for the current second, or
    raises UpstreamUnavailableError (retryable, with retry_after) when it is spent: the call
    must then not be made.
    """

    async def spend(self, operation: str) -> None:
        """Take one call of `operation`'s budget, or raise instead of calling upstream."""
        ...


class InvalidationBus(Protocol):
    """Tells every replica which in-process entries to drop (Redis pub/sub).

    Delivery is at most once and only to replicas subscribed at the time: a replica that loses
    its subscription must assume it missed messages (`listen` calls `on_lost`).
    """

    async def publish(self, name: str) -> None:
        """Announce that `name` changed; CacheUnavailableError when the cache cannot take it."""
        ...

    async def listen(self, on_evict: Callable[[str], None], on_lost: Callable[[], None]) -> None:
        """Deliver other replicas' names to `on_evict` until cancelled; call `on_lost` whenever
        the subscription was (or may have been) interrupted, and reconnect."""
        ...

    async def close(self) -> None:
        """Release the subscription's connection."""
        ...


class Cipher(Protocol):
    """Seals secrets before they reach a store or the cache (MultiFernet)."""

    def seal(self, plaintext: str) -> str:
        """Encrypt under the primary key."""
        ...

    def open(self, sealed: str) -> str:
        """Decrypt with any configured key; DecryptionError if none opens it."""
        ...

    def is_current(self, sealed: str) -> bool:
        """True if the primary key opens it (no rotation needed)."""
        ...

    def rotate(self, sealed: str) -> str:
        """Re-encrypt under the primary key; DecryptionError if no key opens it."""
        ...


class Clock(Protocol):
    """Time, injectable so tests never sleep."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class IdentityProvider(Protocol):
    """The Cognito Hosted UI's OAuth endpoints (authlib on httpx).

    Raises InvalidGrantError when Cognito answers `invalid_grant`, OAuthProtocolError for any
    other OAuth error answer, UpstreamUnavailableError when Cognito is unreachable or failing.
    """

    def authorization_url(
        self, *, state: str, nonce: str, code_challenge: str, login_hint: str | None = None
    ) -> str:
        """The Hosted UI URL for one flow (response_type=code, PKCE S256); `login_hint`
        pre-fills the username."""
        ...

    async def exchange_code(self, code: str, *, code_verifier: str) -> TokenGrant:
        """Trade an authorization code for tokens."""
        ...

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """Trade a refresh token for fresh access and ID tokens."""
        ...

    async def revoke(self, refresh_token: str) -> bool:
        """Revoke a refresh token (and its access tokens); True if Cognito accepted."""
        ...

    async def close(self) -> None:
        """Release the HTTP client."""
        ...


class TokenVerifier(Protocol):
    """Checks Cognito JWTs against the pool's JWKS (python-jose). RS256 only.

    Raises TokenVerificationError on any failed check; UpstreamUnavailableError when the JWKS
    cannot be fetched.
    """

    async def verify_id_token(
        self, token: str, *, nonce: str | None, access_token: str | None = None
    ) -> IdentityClaims:
        """Signature, iss, aud = client id, token_use = id, exp, nonce when given, and `at_hash`
        against `access_token` (Hosted UI ID tokens carry it)."""
        ...

    async def verify_access_token(
        self, token: str, *, client_ids: Collection[str] | None = None
    ) -> AccessClaims:
        """Signature, iss, token_use = access, exp, and `client_id`: the connector's own app
        client, or one of `client_ids` when given (MCP user mode's agent clients)."""
        ...


class IdentityBroker(Protocol):
    """Cognito Identity (and STS for the basic flow): ID token -> temporary AWS credentials.

    Raises AccessDeniedError (NotAuthorized, an STS refusal), UpstreamUnavailableError
    (unreachable, throttled: RateLimitedError), OperationFailedError(GET_CONNECTION_FAILED)
    otherwise.
    """

    @property
    def narrows(self) -> bool:
        """True when credentials can carry a session policy (a basic-flow role is set)."""
        ...

    async def get_identity_id(self, id_token: str) -> str:
        """GetId with Logins = {<issuer without scheme>: id_token}; called once per user."""
        ...

    async def get_credentials(
        self, identity_id: str, id_token: str, *, user_id: str, policy: str | None = None
    ) -> AwsCredentials:
        """GetCredentialsForIdentity (enhanced flow), or GetOpenIdToken + AssumeRoleWithWebIdentity
        (basic flow: a role ARN is configured, or `policy`, the session policy, is given; the
        session is named after `user_id`). A policy without `narrows` is an InternalError."""
        ...

    async def elevate(
        self, credentials: AwsCredentials, *, user_id: str, role_arn: str, policy: str | None
    ) -> AwsCredentials:
        """The user's `credentials` chained into `role_arn` (sts:AssumeRole, the session named
        after `user_id`, SourceIdentity set, `policy` as its session policy). A role they may not
        assume is AccessDeniedError with the upstream code."""
        ...


class ObjectStorage(Protocol):
    """S3, signed with the user's own credentials. Names are validated before these calls.

    Failures are mapped once (adapters/aws_errors.py): ACCESS_DENIED, NOT_FOUND, RATE_LIMITED,
    UPSTREAM_UNAVAILABLE, ExpiredCredentialsError, or the operation's own `*_FAILED` code.
    """

    async def list_buckets(self, creds: AwsCredentials) -> list[Bucket]: ...

    async def list_objects(
        self,
        creds: AwsCredentials,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
    ) -> ObjectPage: ...

    async def open_object(
        self, creds: AwsCredentials, bucket: str, key: str, *, range_header: str | None = None
    ) -> ObjectStream:
        """Headers now; the body as the caller iterates `chunks`."""
        ...

    async def put_object(
        self,
        creds: AwsCredentials,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None,
        content_length: int | None,
    ) -> tuple[str | None, str | None]:
        """Store the streamed body (nothing half-written on failure); (etag, version id)."""
        ...

    async def delete_object(self, creds: AwsCredentials, bucket: str, key: str) -> None: ...

    async def presign(
        self,
        creds: AwsCredentials,
        bucket: str,
        key: str,
        *,
        method: Literal["GET", "PUT"],
        expires_in: int,
    ) -> str: ...


class FunctionRuntime(Protocol):
    """Lambda, signed with the user's own credentials (errors mapped as for ObjectStorage)."""

    async def list_functions(
        self, creds: AwsCredentials, *, marker: str | None = None, max_items: int = 50
    ) -> FunctionPage: ...

    async def get_function(self, creds: AwsCredentials, name: str) -> FunctionDetail: ...

    async def invoke(
        self,
        creds: AwsCredentials,
        name: str,
        payload: bytes,
        *,
        invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse",
        log_type: Literal["None", "Tail"] = "None",
    ) -> InvokeResult:
        """An error raised by the function is in the result (`function_error`), not raised."""
        ...


class WebhookAnswer(Protocol):
    """What a webhook receiver answered."""

    @property
    def status(self) -> int: ...

    @property
    def retry_after(self) -> float | None:
        """Seconds, from a Retry-After header (429, 503), when it had a usable one."""
        ...


class WebhookSender(Protocol):
    """POSTs signed webhook bodies (httpx). Raises UpstreamUnavailableError when the receiver
    cannot be reached or does not answer within `deadline` seconds (connect to last byte)."""

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], *, deadline: float
    ) -> WebhookAnswer:
        """One attempt."""
        ...

    async def close(self) -> None:
        """Release the HTTP client."""
        ...
