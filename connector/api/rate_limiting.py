"""Rate limits at the HTTP edge: each request counted once, after the guards (key, user and
scope known), and the IETF RateLimit fields on its response.

The fields follow draft-ietf-httpapi-ratelimit-headers-09: `RateLimit-Policy` lists the
policies a request counted against (`"read-per-key";q=1200;w=60`), `RateLimit` their state
after it (`"read-per-key";r=1190;t=42`); a refusal is 429 RATE_LIMITED with `Retry-After`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from connector.api.guards import caller_of, request_state, services_of
from connector.domain.rate_limits import ScopeClass
from connector.services.rate_limits import Verdict

RATE_LIMIT_FIELD = "RateLimit"
RATE_LIMIT_POLICY_FIELD = "RateLimit-Policy"
_VERDICT = "rate_limit_verdict"


async def enforce_rate_limits(request: Request[Any, Any, Any]) -> None:
    """Count a request that its guards classed (an authenticated key, its scope's class, the
    user when the route names one) against its limits: 429 RATE_LIMITED when over one."""
    state = request_state(request)
    scope_class: ScopeClass | None = state.get("rate_limit_class")
    if scope_class is None:
        return  # not an API-key route with a scope (health, the browser callback, /rpc)
    verdict = await services_of(request).rate_limits.check(
        caller_of(request).id, state.get("user_id"), scope_class
    )
    state[_VERDICT] = verdict
    if not verdict.admitted:
        raise verdict.refusal()


def rate_limit_fields(verdict: Verdict) -> dict[str, str]:
    """The RateLimit and RateLimit-Policy fields (structured-field lists) for a verdict."""
    if not verdict.usages:
        return {}
    policies = ", ".join(
        f'"{u.counter.policy}";q={u.counter.rate.amount};w={u.counter.rate.seconds}'
        for u in verdict.usages
    )
    states = ", ".join(
        f'"{u.counter.policy}";r={u.remaining};t={u.reset_seconds}' for u in verdict.usages
    )
    return {RATE_LIMIT_POLICY_FIELD: policies, RATE_LIMIT_FIELD: states}


class RateLimitFieldsMiddleware(ASGIMiddleware):
    """Adds the fields of the request's verdict to whatever response leaves, success or
    failure (Litestar renders a guard's exception inside the middleware stack)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                verdict = scope.get("state", {}).get(_VERDICT)
                if verdict is not None:
                    headers = list(message.get("headers", []))
                    headers += [
                        (name.lower().encode(), value.encode())
                        for name, value in rate_limit_fields(verdict).items()
                    ]
                    message = {**message, "headers": headers}
            await send(message)

        await next_app(scope, receive, send_with_fields)
