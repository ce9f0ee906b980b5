"""In-memory state of the stand-in: one-time codes, refresh-token sessions and revocations."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """A code as issued after sign-in: bound to the client, redirect URI, scopes, nonce and PKCE."""

    code: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    username: str
    nonce: str | None
    code_challenge: str | None
    auth_time: int
    event_id: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class RefreshSession:
    """One refresh token. `origin_jti` names the sign-in it descends from (its family)."""

    token: str
    client_id: str
    username: str
    scopes: tuple[str, ...]
    auth_time: int
    origin_jti: str
    event_id: str
    expires_at: float
    rotated_at: float | None = None


class TokenStore:
    """Codes, refresh sessions and revoked sign-ins (`origin_jti`), behind one lock.

    Every method is synchronous, so each transition is atomic on the event loop; the lock also
    keeps test hooks called from another thread (as `connector dev` may do) safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._sessions: dict[str, RefreshSession] = {}
        self._revoked_origins: set[str] = set()

    def add_code(self, code: AuthorizationCode, now: float) -> None:
        with self._lock:
            self._codes = {k: v for k, v in self._codes.items() if v.expires_at > now}
            self._codes[code.code] = code

    def take_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """Remove and return the code if `client_id` owns it: any use by its client burns it."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.client_id != client_id:
                return None
            return self._codes.pop(code)

    def add_session(self, session: RefreshSession) -> None:
        with self._lock:
            self._sessions[session.token] = session

    def usable_session(self, token: str, now: float, grace: float) -> RefreshSession | None:
        """The session if its token is known, unexpired, unrevoked and not rotated out."""
        with self._lock:
            return self._usable(token, now, grace)

    def _usable(self, token: str, now: float, grace: float) -> RefreshSession | None:
        session = self._sessions.get(token)
        if session is None or session.origin_jti in self._revoked_origins:
            return None
        if now >= session.expires_at:
            return None
        if session.rotated_at is not None and now >= session.rotated_at + grace:
            return None
        return session

    def rotate(self, old: str, new: RefreshSession, now: float, grace: float) -> bool:
        """Retire `old` in favour of `new`; False if `old` stopped being usable meanwhile."""
        with self._lock:
            current = self._usable(old, now, grace)
            if current is None:
                return False
            if current.rotated_at is None:
                self._sessions[old] = replace(current, rotated_at=now)
            self._sessions[new.token] = new
            return True

    def session(self, token: str) -> RefreshSession | None:
        with self._lock:
            return self._sessions.get(token)

    def revoke_origin(self, origin_jti: str) -> bool:
        """Revoke a sign-in: every refresh token of the family and every token issued from it.
        True if it was live until now."""
        with self._lock:
            fresh = origin_jti not in self._revoked_origins
            self._revoked_origins.add(origin_jti)
            return fresh

    def revoke_user(self, username: str) -> int:
        """Revoke every sign-in of the user (a global sign-out); returns how many were live."""
        with self._lock:
            origins = {s.origin_jti for s in self._sessions.values() if s.username == username}
            fresh = origins - self._revoked_origins
            self._revoked_origins |= origins
            return len(fresh)

    def is_revoked(self, origin_jti: str) -> bool:
        with self._lock:
            return origin_jti in self._revoked_origins
