"""The demo app's sessions: kept in memory, named by a signed, HttpOnly, SameSite=Lax cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

COOKIE = "demo_app_session"
FLOW_TTL = 600.0
"""How long a started sign-in stays acceptable: the connector's own `state` lifetime."""
_MAX_SESSIONS = 1000


@dataclass(frozen=True, slots=True)
class Notice:
    """One outcome to show once, on the next page (the 303 after an action carries nothing)."""

    outcome: str
    """`connected`, `cancelled`, `mismatch`, `expired`, `error`, `disconnected` or `invoked`."""
    text: str
    code: str = ""
    """The codes behind it, e.g. `error=CALLBACK_FAILED reason=access_denied`."""


@dataclass(slots=True)
class Session:
    id: str
    csrf: str
    user: str | None = None
    """The app user signed in to the demo app (an app login, not a Cognito sign-in)."""
    notice: Notice | None = None
    flows: dict[str, float] = field(default_factory=dict)
    """`state` of each sign-in this session started -> when it stops being acceptable."""

    def start_flow(self, state: str) -> None:
        self.flows[state] = time.monotonic() + FLOW_TTL

    def finish_flow(self, state: str) -> bool:
        """True once for a state this session started and has not finished or let expire."""
        expires = self.flows.pop(state, None)
        return expires is not None and time.monotonic() < expires

    def csrf_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), token.encode())

    def take_notice(self) -> Notice | None:
        notice, self.notice = self.notice, None
        return notice


class SessionStore:
    """Sessions by id. The cookie holds `<id>.<HMAC-SHA256 of the id>`: a forged or guessed
    cookie opens a fresh, empty session."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, cookie: str | None) -> Session:
        """The cookie's session, or a new one."""
        session_id, _, signature = (cookie or "").partition(".")
        if hmac.compare_digest(signature, self._sign(session_id)):
            session = self._sessions.get(session_id)
            if session is not None:
                self._sessions.move_to_end(session_id)
                return session
        return self._new()

    def renew(self, session: Session, *, user: str | None) -> None:
        """Sign `user` in (or out, with None) under a new id: a session id seen before the
        sign-in is worth nothing after it, and flows started before it are dropped."""
        self._sessions.pop(session.id, None)
        session.id, session.csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.user, session.flows = user, {}
        self._keep(session)

    def set_cookie_header(self, session: Session) -> str:
        # No `Secure`: the sandbox is plain http on 127.0.0.1; an app served over https adds it.
        value = f"{session.id}.{self._sign(session.id)}"
        return f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"

    def _new(self) -> Session:
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        self._keep(session)
        return session

    def _keep(self, session: Session) -> None:
        self._sessions[session.id] = session
        while len(self._sessions) > _MAX_SESSIONS:
            self._sessions.popitem(last=False)

    def _sign(self, session_id: str) -> str:
        return hmac.new(self._secret, session_id.encode(), hashlib.sha256).hexdigest()
