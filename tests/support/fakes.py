"""Small honest fakes of the ports (the contract suites run against them too)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import msgspec

from connector.domain.events import DeliveryStatus, OutboxRecord
from connector.domain.models import ApiKey, Connection, ConnectionStatus
from connector.domain.oauth import AccessClaims, IdentityClaims, TokenGrant
from connector.domain.ports import Clock
from connector.domain.providers import DEFAULT_PROVIDER
from connector.domain.rate_limits import Counter, Usage, window_of
from connector.errors import (
    CacheUnavailableError,
    InvalidGrantError,
    TokenVerificationError,
    ValidationError,
    VersionConflictError,
)

_S = TypeVar("_S", bound=msgspec.Struct)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def _in_utc(struct: _S) -> _S:
    """The struct with every datetime field in UTC, as the SQL and S3 stores read them back."""
    changes = {
        name: value.astimezone(UTC)
        for name in struct.__struct_fields__
        if isinstance(value := getattr(struct, name), datetime)
    }
    return msgspec.structs.replace(struct, **changes)


def _row(user_id: str, provider: str) -> str:
    return user_id if provider == DEFAULT_PROVIDER else f"{user_id}/{provider}"


class FakeConnectionStore:
    """The ConnectionStore port in a dict; it passes the port's contract suite like every
    adapter (tests/contract)."""

    def __init__(self, outbox: FakeOutbox | None = None) -> None:
        # By user id for the default provider, `user/provider` for another (no user id holds
        # a `/`), so the suites written before providers read rows["alice"] as they did.
        self.rows: dict[str, Connection] = {}
        self.writes = 0
        self.outbox = outbox or FakeOutbox()

    async def get(self, user_id: str, provider: str = DEFAULT_PROVIDER) -> Connection | None:
        return self.rows.get(_row(user_id, provider))

    async def put(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        outbox: Sequence[OutboxRecord] = (),
    ) -> Connection:
        row = _row(connection.user_id, connection.provider)
        current = self.rows.get(row)
        if expected_version is None and current is not None:
            raise VersionConflictError("exists")
        if expected_version is not None and (
            current is None or current.version != expected_version
        ):
            raise VersionConflictError("stale")
        stored = _in_utc(msgspec.structs.replace(connection, version=(expected_version or 0) + 1))
        self.rows[row] = stored
        self.writes += 1
        await self.outbox.add(outbox)
        return stored

    async def delete(
        self,
        user_id: str,
        provider: str = DEFAULT_PROVIDER,
        *,
        outbox: Sequence[OutboxRecord] = (),
    ) -> bool:
        removed = self.rows.pop(_row(user_id, provider), None) is not None
        if removed:
            await self.outbox.add(outbox)
        return removed

    async def find_by_sub(
        self, sub: str, provider: str = DEFAULT_PROVIDER, *, limit: int = 2
    ) -> list[Connection]:
        found = sorted(
            (c for c in self.rows.values() if c.sub == sub and c.provider == provider),
            key=lambda c: c.user_id.encode(),
        )
        return found[:limit]

    async def iterate(
        self, *, page_size: int = 100, on_unreadable: Callable[[str], None] | None = None
    ) -> AsyncIterator[Connection]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        last = (b"", b"")

        def order(row: str) -> tuple[bytes, bytes]:
            user_id, _, provider = row.partition("/")
            return user_id.encode(), (provider or DEFAULT_PROVIDER).encode()

        while True:
            # Keyset pages in byte order, as the stores page (SQL's "C" collation, S3 keys).
            page = sorted((r for r in self.rows if order(r) > last), key=order)[:page_size]
            for row in page:
                if row in self.rows:
                    yield self.rows[row]
            if len(page) < page_size:
                return
            last = order(page[-1])

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        counts = dict.fromkeys(ConnectionStatus, 0)
        for connection in self.rows.values():
            counts[connection.status] += 1
        return counts

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FakeApiKeyStore:
    """The ApiKeyStore port in a dict (contract-tested like the adapters)."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    async def create(self, key: ApiKey) -> None:
        if key.id in self.keys or any(k.name == key.name for k in self.keys.values()):
            raise ValidationError("duplicate")
        self.keys[key.id] = _in_utc(key)

    async def get(self, key_id: str) -> ApiKey | None:
        return self.keys.get(key_id)

    async def list(self) -> list[ApiKey]:
        return sorted(self.keys.values(), key=lambda k: (k.created_at, k.id))

    async def revoke(self, id_or_name: str, at: datetime) -> ApiKey | None:
        key = self.keys.get(id_or_name) or next(
            (k for k in self.keys.values() if k.name == id_or_name), None
        )
        if key is None:
            return None
        if key.revoked_at is None:
            key = _in_utc(msgspec.structs.replace(key, revoked_at=at))
            self.keys[key.id] = key
        return key


class FakeOutbox:
    """The Outbox port in a dict (passes tests/contract/test_outbox.py)."""

    def __init__(self) -> None:
        self.records: dict[str, OutboxRecord] = {}
        self.leases: dict[str, tuple[str, datetime]] = {}

    async def add(self, records: Sequence[OutboxRecord]) -> None:
        for record in records:
            if record.id in self.records:
                raise ValueError(f"duplicate outbox id {record.id}")
        for record in records:
            self.records[record.id] = _in_utc(record)

    async def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxRecord]:
        due = sorted(
            (
                r
                for r in self.records.values()
                if r.status is DeliveryStatus.PENDING
                and r.next_attempt_at <= now
                and (r.id not in self.leases or self.leases[r.id][1] < now)
            ),
            key=lambda r: (r.next_attempt_at, r.id),
        )[:limit]
        for record in due:
            self.leases[record.id] = (owner, lease_until)
        return due

    async def settle(self, record: OutboxRecord, *, owner: str) -> bool:
        lease = self.leases.get(record.id)
        if lease is None or lease[0] != owner:
            return False
        del self.leases[record.id]
        self.records[record.id] = _in_utc(record)
        return True

    async def redeliver(self, record_id: str, *, now: datetime) -> OutboxRecord | None:
        record = self.records.get(record_id)
        if record is None:
            return None
        self.leases.pop(record_id, None)
        self.records[record_id] = _in_utc(
            msgspec.structs.replace(
                record,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                settled_at=None,
            )
        )
        return self.records[record_id]

    async def get(self, record_id: str) -> OutboxRecord | None:
        return self.records.get(record_id)

    async def list(self, *, limit: int = 100) -> list[OutboxRecord]:
        newest = sorted(self.records.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        return newest[:limit]


class FakeDatabase:
    """A store of record (what bootstrap's Database protocol asks) made of the fakes."""

    def __init__(self) -> None:
        self.outbox: FakeOutbox | None = FakeOutbox()
        self.connections = FakeConnectionStore(self.outbox)
        self.api_keys = FakeApiKeyStore()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FakeRateLimiter:
    """The RateLimiter port in a dict, windows on an injected `time()` clock. `down = True`
    fails every hit like an unreachable store; `hits` counts calls. Limiters built with the
    same `counts` share them (replicas)."""

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        *,
        counts: dict[tuple[str, int, int, int], int] | None = None,
    ) -> None:
        self.clock = clock or (lambda: 1_699_920_000.0)
        self.counts: dict[tuple[str, int, int, int], int] = {} if counts is None else counts
        self.down = False
        self.hits = 0

    async def hit(self, counters: Sequence[Counter]) -> list[Usage]:
        if self.down:
            raise CacheUnavailableError("rate-limit store unavailable")
        self.hits += 1
        now, usages = self.clock(), []
        for c in counters:
            window, left = window_of(c.rate, now)
            slot = (c.name, c.rate.amount, c.rate.seconds, window)
            self.counts[slot] = self.counts.get(slot, 0) + 1
            usages.append(Usage(counter=c, used=self.counts[slot], reset_after=left))
        return usages

    async def close(self) -> None:
        self.counts.clear()


class FakeCache:
    """The Cache port in a dict, with TTLs measured on the injected clock (never wall time:
    `clock.advance` expires entries). `down = True` makes every call fail like an unreachable
    Redis. Caches built with the same `server` share it, isolated by their `prefix`."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        prefix: str = "",
        server: dict[str, tuple[bytes, datetime | None]] | None = None,
    ) -> None:
        self.clock: Clock = clock or FixedClock()
        self.prefix = prefix
        self.data: dict[str, tuple[bytes, datetime | None]] = {} if server is None else server
        self.indexes: dict[str, dict[str, float]] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise CacheUnavailableError("cache unavailable")

    def _deadline(self, ttl: float | None) -> datetime | None:
        if ttl is None:
            return None
        # As RedisCache does: a TTL that rounds to nothing means "almost gone", 1 ms.
        return self.clock.now() + timedelta(milliseconds=max(1.0, ttl * 1000))

    def _live(self, key: str) -> bytes | None:
        entry = self.data.get(self.prefix + key)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and self.clock.now() >= deadline:
            del self.data[self.prefix + key]
            return None
        return value

    async def get(self, key: str) -> bytes | None:
        self._check()
        return self._live(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._check()
        self.data[self.prefix + key] = (bytes(value), self._deadline(ttl))

    async def add(self, key: str, value: bytes, *, ttl: float) -> bool:
        self._check()
        if self._live(key) is not None:
            return False
        self.data[self.prefix + key] = (bytes(value), self._deadline(ttl))
        return True

    async def pop(self, key: str) -> bytes | None:
        self._check()
        value = self._live(key)
        self.data.pop(self.prefix + key, None)
        return value

    async def delete(self, *keys: str) -> int:
        self._check()
        live = [k for k in dict.fromkeys(keys) if self._live(k) is not None]
        for key in live:
            del self.data[self.prefix + key]
        return len(live)

    async def delete_if_equals(self, key: str, value: bytes) -> bool:
        self._check()
        if self._live(key) == value:
            del self.data[self.prefix + key]
            return True
        return False

    async def ttl(self, key: str) -> float | None:
        self._check()
        if self._live(key) is None:
            return None
        deadline = self.data[self.prefix + key][1]
        return None if deadline is None else (deadline - self.clock.now()).total_seconds()

    async def index_add(self, index: str, member: str, score: float) -> None:
        self._check()
        self.indexes.setdefault(self.prefix + index, {})[member] = score

    async def index_due(self, index: str, until: float, *, limit: int) -> list[str]:
        self._check()
        entries = sorted(
            self.indexes.get(self.prefix + index, {}).items(), key=lambda item: (item[1], item[0])
        )
        return [member for member, score in entries if score <= until][:limit]

    async def index_remove(self, index: str, member: str) -> bool:
        self._check()
        return self.indexes.get(self.prefix + index, {}).pop(member, None) is not None

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        return None


class FakeIdentityProvider:
    """Cognito's OAuth endpoints in miniature: codes bound to PKCE challenges, refresh tokens
    that can be revoked, counters, and switchable failures."""

    def __init__(self, clock: FixedClock, *, lifetime: int = 3600, rotate: bool = False) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.rotate = rotate
        self.challenges: dict[str, str] = {}  # state -> challenge
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, sub)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> sub
        self.refresh_calls = 0
        self.revoked: list[str] = []
        self.fail_with: Exception | None = None
        self.refresh_delay = 0.0
        self.nonces: dict[str, str] = {}  # state -> nonce
        self.login_hints: dict[str, str | None] = {}  # state -> login_hint
        self._serial = 0

    def authorization_url(
        self, *, state: str, nonce: str, code_challenge: str, login_hint: str | None = None
    ) -> str:
        self.challenges[state] = code_challenge
        self.nonces[state] = nonce
        self.login_hints[state] = login_hint
        return f"https://idp.example/oauth2/authorize?state={state}&nonce={nonce}"

    def authorize(self, state: str, sub: str = "sub-1") -> str:
        """What the Hosted UI does when the user signs in: a code for that flow."""
        self._serial += 1
        code = f"code-{self._serial}"
        self.codes[code] = (self.challenges[state], sub)
        return code

    def _grant(self, sub: str, nonce: str | None, refresh: str | None) -> TokenGrant:
        self._serial += 1
        exp = int(self.clock.now().timestamp()) + self.lifetime
        id_token = json.dumps({"sub": sub, "nonce": nonce, "exp": exp, "n": self._serial})
        access = json.dumps({"sub": sub, "exp": exp, "n": self._serial, "use": "access"})
        return TokenGrant(
            access_token=access, id_token=id_token, refresh_token=refresh, expires_in=self.lifetime
        )

    async def exchange_code(self, code: str, *, code_verifier: str) -> TokenGrant:
        from connector.services.oauth_flow import pkce_challenge  # noqa: PLC0415

        if self.fail_with is not None:
            raise self.fail_with
        entry = self.codes.pop(code, None)
        if entry is None or pkce_challenge(code_verifier) != entry[0]:
            raise InvalidGrantError("invalid_grant")
        state = next(s for s, c in self.challenges.items() if c == entry[0])
        refresh = f"refresh-{self._serial}-{entry[1]}"
        self.refresh_tokens[refresh] = entry[1]
        return self._grant(entry[1], self.nonces.get(state), refresh)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        self.refresh_calls += 1
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if self.fail_with is not None:
            raise self.fail_with
        sub = self.refresh_tokens.get(refresh_token)
        if sub is None:
            raise InvalidGrantError("invalid_grant")
        new_refresh = None
        if self.rotate:
            del self.refresh_tokens[refresh_token]
            new_refresh = f"refresh-r{self.refresh_calls}-{sub}"
            self.refresh_tokens[new_refresh] = sub
        return self._grant(sub, None, new_refresh)

    async def revoke(self, refresh_token: str) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        self.revoked.append(refresh_token)
        self.refresh_tokens.pop(refresh_token, None)
        return True

    async def close(self) -> None:
        return None


class FakeTokenVerifier:
    """Verifies the fake provider's JSON 'tokens': nonce and expiry, as the real one does."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.unverified_emails: set[str] = set()
        """Subs whose ID tokens say `email_verified: false`."""

    async def verify_id_token(
        self, token: str, *, nonce: str | None, access_token: str | None = None
    ) -> IdentityClaims:
        claims = json.loads(token)
        if nonce is not None and claims.get("nonce") != nonce:
            raise TokenVerificationError("ID token nonce mismatch")
        return IdentityClaims(
            sub=claims["sub"],
            username=claims["sub"],
            email=f"{claims['sub']}@example.com",
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            email_verified=claims["sub"] not in self.unverified_emails,
        )

    async def verify_access_token(
        self, token: str, *, client_ids: Collection[str] | None = None
    ) -> AccessClaims:
        claims = json.loads(token)
        client_id = claims.get("client_id", "client")
        if client_id not in (("client",) if client_ids is None else client_ids):
            raise TokenVerificationError("access token client_id mismatch")
        return AccessClaims(
            sub=claims["sub"],
            client_id=client_id,
            scopes=tuple(claims.get("scope", "openid email").split()),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
