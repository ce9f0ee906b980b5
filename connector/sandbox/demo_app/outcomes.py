"""What the demo app tells its user after a sign-in, from the connector's answers."""

from __future__ import annotations

import re

import httpx

from connector.sandbox.demo_app.sessions import Notice

_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""Codes come from the address bar, where anyone can write anything: only plain tokens are
shown, so a crafted link cannot put its own sentence on the app's page."""


NOT_STARTED_HERE = Notice(
    "mismatch",
    "This sign-in was not started by you in this browser: it was refused and nothing was "
    "connected.",
    "rejected",
)


def confirmed(answer: httpx.Response) -> Notice:
    """The answer to POST /connect/confirm."""
    body = answer.json()
    if answer.is_success:
        data = body["data"]
        return Notice("connected", f"Connected as {data['username']} / {data['email']}.")
    code = str(body.get("code"))
    if (body.get("details") or {}).get("reason") == "account_changed":
        return _account_changed(code)
    if code == "IDENTITY_MISMATCH":
        return Notice(
            "mismatch",
            "This sign-in belongs to another app user: it was refused and nothing was connected.",
            code,
        )
    if code == "INVALID_STATE":
        return Notice("expired", "This sign-in expired or was already used: connect again.", code)
    return Notice("error", "The connector could not finish the sign-in.", code)


def returned_with_error(error: str | None, reason: str | None) -> Notice:
    """`error=<CODE>[&reason=<Cognito's error>]` on the return URL."""
    code = f"error={_token(error)}" + (f" reason={_token(reason)}" if reason else "")
    if reason == "access_denied":
        return Notice("cancelled", "You cancelled the sign-in: nothing was connected.", code)
    if reason == "account_changed":
        return _account_changed(code)
    if error == "IDENTITY_MISMATCH":
        return Notice(
            "mismatch",
            "The account that signed in is not this app user's: nothing was connected.",
            code,
        )
    return Notice("error", "The sign-in failed: nothing was connected.", code)


def _account_changed(code: str) -> Notice:
    return Notice(
        "mismatch",
        "This app user is connected with another account: disconnect first, then connect again.",
        code,
    )


def _token(value: str | None) -> str:
    return value if value is not None and _TOKEN.fullmatch(value) else "unexpected"
