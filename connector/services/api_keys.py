"""API keys: creation (shown once), hash-only storage, constant-time authentication, revocation."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from connector.domain.models import DEFAULT_SCOPES, ROLE_ARN, WRITE_SCOPES, ApiKey, Scope
from connector.domain.ports import ApiKeyStore, Clock
from connector.domain.providers import is_provider_name
from connector.domain.session_policy import PolicyTranslationError, session_policy
from connector.errors import AuthenticationError, ValidationError
from connector.services.process_layer import ProcessLayer, key_entry

KEY_PREFIX = "ck"
_ID_HEX = 16
_KEY_SHAPE = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{{_ID_HEX}}})_([A-Za-z0-9_\-]{{43}})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+\- ]{0,127}")
# A well-formed hash to compare against when the id is unknown, so both paths cost the same.
_DUMMY_HASH = hashlib.sha256(b"connector: no such key").hexdigest()


def hash_key(raw_key: str) -> str:
    """SHA-256 of the whole key: enough for 256-bit random secrets (no password stretching)."""
    return hashlib.sha256(raw_key.encode("ascii")).hexdigest()


class ApiKeyService:
    """Creates, lists, revokes and checks API keys."""

    def __init__(self, store: ApiKeyStore, clock: Clock, layer: ProcessLayer | None = None) -> None:
        self._store = store
        self._clock = clock
        self._layer = layer or ProcessLayer()

    async def create(
        self,
        name: str,
        *,
        scopes: Iterable[str] = (),
        buckets: Iterable[str] = (),
        functions: Iterable[str] = (),
        read_only: bool = False,
        role: str | None = None,
        providers: Iterable[str] = (),
        configured: Iterable[str] | None = None,
    ) -> tuple[ApiKey, str]:
        """Store a new key and return it with the raw key, which is never stored or shown again.

        `providers` limits the key to those providers (none: every provider); with
        `configured`, each must be one of them."""
        if not _NAME.fullmatch(name):
            raise ValidationError("key name: 1-128 characters, letters, digits, . _ : @ + - space")
        granted = _parse_scopes(scopes) or set(DEFAULT_SCOPES)
        if read_only:
            granted -= WRITE_SCOPES
        bucket_globs = _patterns("bucket", buckets)
        function_globs = _patterns("function", functions)
        if role is not None and not ROLE_ARN.fullmatch(role):
            raise ValidationError("role: an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        if bucket_globs or function_globs or read_only:
            _check_restricted(granted, bucket_globs, function_globs, read_only=read_only)
        key_id = secrets.token_hex(_ID_HEX // 2)
        raw_key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(
            id=key_id,
            name=name,
            key_hash=hash_key(raw_key),
            scopes=frozenset(granted),
            buckets=bucket_globs,
            functions=function_globs,
            read_only=read_only,
            created_at=self._clock.now(),
            role=role,
            providers=_providers(providers, configured),
        )
        await self._store.create(key)
        return key, raw_key

    async def authenticate(self, presented: str | None) -> ApiKey:
        """The active key matching `presented`, else UNAUTHORIZED (same answer for every miss)."""
        match = _KEY_SHAPE.fullmatch(presented or "")
        key = await self._lookup(match.group(1)) if match else None
        expected = key.key_hash if key else _DUMMY_HASH
        # Only a key of the right shape (ASCII by construction) is hashed as sent; anything else
        # (non-ASCII bytes, control characters, any length) hashes a fixed stand-in, so a
        # malformed header costs what a miss costs and is refused like one.
        valid = hmac.compare_digest(expected, hash_key(match.group(0) if match else ""))
        if key is None or not valid or not key.active:
            raise AuthenticationError("a valid API key is required")
        return key

    async def active(self, key_id: str) -> ApiKey:
        """The active key with this id (not its secret: a key the operator named in the
        configuration, such as MCP user mode's policy key), else UNAUTHORIZED."""
        key = await self._lookup(key_id)
        if key is None or not key.active:
            raise AuthenticationError("the configured policy key is unknown or revoked")
        return key

    async def _lookup(self, key_id: str) -> ApiKey | None:
        """The key by id: from this process for at most KEY_TTL seconds, else the store."""
        entry = key_entry(key_id)
        key = self._layer.keys.get(entry)
        if key is None:
            key = await self._store.get(key_id)
            if key is not None:
                self._layer.keys.put(entry, key, self._layer.key_ttl)
        return key

    async def list(self) -> list[ApiKey]:
        """Every key, revoked ones included."""
        return await self._store.list()

    async def revoke(self, id_or_name: str) -> ApiKey:
        """Revoke, and tell every replica to forget the key (each re-reads keys at least every
        KEY_TTL seconds, so a replica that misses the announcement still stops in time)."""
        key = await self._store.revoke(id_or_name, self._clock.now())
        if key is None:
            raise ValidationError(f"no API key has the id or name {id_or_name!r}")
        await self._layer.invalidate(key_entry(key.id))
        return key


def _parse_scopes(values: Iterable[str]) -> set[Scope]:
    known = {s.value: s for s in Scope}
    parsed: set[Scope] = set()
    for value in values:
        if value not in known:
            raise ValidationError(f"unknown scope {value!r}; known: {', '.join(sorted(known))}")
        parsed.add(known[value])
    return parsed


def _providers(names: Iterable[str], configured: Iterable[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(n.strip() for n in names))
    known = None if configured is None else tuple(configured)
    for name in chosen:
        if not is_provider_name(name):
            raise ValidationError(f"provider {name!r}: 1-32 characters of a-z 0-9 -")
        if known is not None and name not in known:
            raise ValidationError(
                f"provider {name!r} is not configured: choose from {', '.join(known) or '(none)'}"
            )
    return chosen


def _patterns(kind: str, values: Iterable[str]) -> tuple[str, ...]:
    patterns = tuple(dict.fromkeys(v.strip() for v in values))
    if any(not p or len(p) > 256 for p in patterns):
        raise ValidationError(f"{kind} patterns must be 1-256 characters")
    return patterns


def _check_restricted(
    granted: set[Scope], buckets: tuple[str, ...], functions: tuple[str, ...], *, read_only: bool
) -> None:
    """A restricted key's limits must hold at AWS too: its credentials carry a session policy
    (which must translate to IAM and fit STS), and a Cognito token, which no policy can narrow,
    is never handed to it."""
    if Scope.TOKEN_READ in granted:
        raise ValidationError(
            "token:read cannot go with --bucket, --function or --read-only: a Cognito access"
            " token carries no limit, so the key's policy could not hold"
        )
    try:
        session_policy(buckets, functions, read_only=read_only)
    except PolicyTranslationError as exc:
        raise ValidationError(str(exc)) from None
