"""What every log line of a request carries: request id, route, key, user, provider.

Standard library only, so that the transport fills it and the services read it (the audit trail)
without either knowing the other. One mutable context per request, held in a ContextVar: the
guards fill the key and the user in after the middleware created it.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

# A caller's id is kept when it is plain and short (it ends up in our logs and headers).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


@dataclass(slots=True)
class RequestContext:
    """The request being served; fields stay None until known."""

    request_id: str
    method: str | None = None
    route: str | None = None
    key_id: str | None = None
    key_name: str | None = None
    user_id: str | None = None
    provider: str | None = None
    """Filled by routes that name an OAuth provider (providers are added elsewhere); absent
    from log lines while None."""
    outcome: str | None = None
    """The failure's code once a failure envelope is built (None: success so far)."""
    resource: str | None = None
    """What the operation acts on (`bucket/key`) when its path does not name it: presign's
    body does. Audit events only (never a URL: a presigned one holds a signature)."""

    def fields(self) -> dict[str, str]:
        """The known fields, by their log names."""
        known = {
            "request_id": self.request_id,
            "method": self.method,
            "route": self.route,
            "key_id": self.key_id,
            "user_id": self.user_id,
            "provider": self.provider,
        }
        return {name: value for name, value in known.items() if value is not None}


_current: ContextVar[RequestContext | None] = ContextVar("connector_request", default=None)


def current() -> RequestContext | None:
    """The request being served by this task, or None outside requests."""
    return _current.get()


def begin(incoming_id: str | None, *, method: str | None = None) -> RequestContext:
    """Start a request's context: the caller's X-Request-Id when valid, else a new one."""
    context = RequestContext(request_id=request_id_from(incoming_id), method=method)
    _current.set(context)
    return context


def request_id_from(incoming: str | None) -> str:
    if incoming is not None and _VALID_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
