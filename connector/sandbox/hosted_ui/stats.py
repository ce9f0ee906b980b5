"""Counters of what the stand-in was asked, for tests to assert on (e.g. one refresh per user)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields


@dataclass(slots=True)
class HostedUiStats:
    """Requests received per endpoint and grant type, successful or not (injected failures too)."""

    authorize: int = 0
    login_attempts: int = 0
    login_failures: int = 0
    login_cancels: int = 0
    token_requests: int = 0
    code_grants: int = 0
    refresh_grants: int = 0
    tokens_issued: int = 0
    """Successful token responses (code exchanges and refreshes together)."""
    token_errors: int = 0
    revocations: int = 0
    sign_ins_revoked: int = 0
    """Live sign-ins (refresh-token families) that /oauth2/revoke ended: unknown, foreign or
    already revoked tokens are not counted."""
    userinfo: int = 0
    jwks: int = 0
    openid_configuration: int = 0
    injected_failures: int = 0
    pkce_methods: Counter[str] = field(default_factory=Counter)
    """`code_challenge_method` values seen at /oauth2/authorize (`none` when absent)."""

    def reset(self) -> None:
        for spec in fields(self):
            setattr(self, spec.name, Counter() if spec.name == "pkce_methods" else 0)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["pkce_methods"] = dict(self.pkce_methods)
        return data
