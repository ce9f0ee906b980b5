"""The demo app's HTML: plain forms that work without JavaScript, every value escaped."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlsplit

from connector.sandbox.demo_app.sessions import Notice, Session

_STYLE = (
    "body{font-family:sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}"
    "header{display:flex;justify-content:space-between;align-items:baseline}"
    "form{display:inline-block;margin:.25rem .5rem .25rem 0}"
    "#notice{padding:.5rem 1rem;border-left:.3rem solid #888;background:#f4f4f4}"
    "#notice[data-outcome=connected],#notice[data-outcome=invoked]{border-color:#2a2}"
    "#notice[data-outcome=mismatch],#notice[data-outcome=error]{border-color:#c22}"
    "textarea{width:100%;font-family:monospace}small{color:#666}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    objects: Sequence[tuple[str, int]]
    """(key, size in bytes) of the first objects."""


def headers(*form_targets: str) -> dict[str, str]:
    """No script at all. `form-action` names every origin the redirects after a form may pass
    through: Chromium checks each hop (Connect -> Cognito -> the connector -> back here)."""
    origins = " ".join(_origin(url) for url in form_targets)
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
            f"form-action 'self' {origins}; base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }


def pick_user(session: Session, notice: Notice | None, suggested: Iterable[str]) -> str:
    buttons = "".join(
        f'<button name="user" value="{escape(user)}" id="user-{escape(user)}">{escape(user)}'
        "</button>\n"
        for user in suggested
    )
    return _page(
        None,
        notice,
        "<p>This page plays <em>your</em> web app: it has its own users, keeps the connector's "
        "API key on its server, and sends its user to Cognito through the connector.</p>\n"
        "<h2>Sign in to the app as</h2>\n"
        f"{_form(session, '/session', buttons)}\n"
        + _form(
            session,
            "/session",
            '<label for="user">another user</label> '
            '<input id="user" name="user" required maxlength="128"> '
            '<button id="sign-in">Sign in</button>',
        ),
    )


def not_connected(session: Session, notice: Notice | None, code: str, extra: str = "") -> str:
    why = "" if code == "NOT_CONNECTED" else f" <code>{escape(code)}</code>"
    return _page(
        session,
        notice,
        f'<h2>AWS</h2>\n<p id="connection" data-status="not-connected">Not connected.{why}</p>\n'
        + _form(
            session,
            "/connect",
            '<button id="connect">Connect</button> <small>sign in with Cognito, then come back '
            "here</small>",
        )
        + extra,
    )


def providers(
    session: Session, names: Sequence[str], connections: Sequence[Mapping[str, Any]]
) -> str:
    """Every provider of the connector: who the user is connected as there, or a button to
    connect (a user may be connected to several at once)."""
    by_name = {str(c.get("provider")): c for c in connections}
    rows = []
    for name in names:
        hidden = f'<input type="hidden" name="provider" value="{escape(name)}">'
        connection = by_name.get(name)
        if connection is None:
            state = "Not connected. " + _form(
                session, "/connect", f'{hidden}<button id="connect-{escape(name)}">Connect</button>'
            )
        else:
            who = f"{connection.get('username')} / {connection.get('email')}"
            state = f"Connected as <b>{escape(who)}</b> " + _form(
                session,
                "/disconnect",
                f'{hidden}<button id="disconnect-{escape(name)}">Disconnect</button>',
            )
        status = "connected" if connection is not None else "not-connected"
        rows.append(
            f'<li id="provider-{escape(name)}" data-status="{status}"><b>{escape(name)}</b>: '
            f"{state}</li>"
        )
    return '\n<h2>Cognito providers</h2>\n<ul id="providers">\n' + "\n".join(rows) + "\n</ul>\n"


def connected(
    session: Session,
    notice: Notice | None,
    connection: Mapping[str, Any],
    buckets: Sequence[Bucket],
    function_name: str,
    *,
    extra: str = "",
) -> str:
    who = f"{connection.get('username')} / {connection.get('email')}"
    listing = "\n".join(
        f"<li><b>{escape(bucket.name)}</b><ul>"
        + "".join(
            f"<li>{escape(key)} <small>{size} bytes</small></li>" for key, size in bucket.objects
        )
        + "</ul></li>"
        for bucket in buckets
    )
    return _page(
        session,
        notice,
        f'<h2>AWS</h2>\n<p id="connection" data-status="{escape(str(connection.get("status")))}">'
        f"Connected as <b>{escape(who)}</b></p>\n"
        + _form(session, "/disconnect", '<button id="disconnect">Disconnect</button>')
        + f'\n<h2>Your buckets</h2>\n<ul id="buckets">\n{listing}\n</ul>\n'
        f"<h2>Function {escape(function_name)}</h2>\n"
        + _form(
            session,
            "/invoke",
            '<label for="payload">payload (JSON)</label>\n'
            '<textarea id="payload" name="payload" rows="3">{"hello": "from the demo app"}'
            '</textarea>\n<button id="invoke">Invoke</button>',
        )
        + extra,
    )


def echo(query: Iterable[tuple[str, str]]) -> str:
    rows = "\n".join(
        f"<tr><th>{escape(name)}</th><td><code>{escape(value)}</code></td></tr>"
        for name, value in query
    )
    return _document(
        "Back from the connector",
        "<h1>Back from the connector</h1>\n<p>What the connector sent this return URL "
        "(a <code>confirmation</code> is good for 60 seconds, once):</p>\n"
        f'<table id="query">\n{rows}\n</table>',
    )


def _page(session: Session | None, notice: Notice | None, main: str) -> str:
    who = (
        f'<span>app user <b id="app-user">{escape(session.user)}</b> '
        + _form(session, "/logout", '<button id="sign-out">Sign out</button>')
        + "</span>"
        if session is not None and session.user is not None
        else ""
    )
    shown = (
        f'<p id="notice" data-outcome="{escape(notice.outcome)}">{escape(notice.text)}'
        + (f' <code id="notice-code">{escape(notice.code)}</code>' if notice.code else "")
        + "</p>\n"
        if notice is not None
        else ""
    )
    return _document("Demo app", f"<header><h1>Demo app</h1>{who}</header>\n{shown}{main}")


def _form(session: Session, action: str, inner: str) -> str:
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="csrf" value="{escape(session.csrf)}">{inner}</form>'
    )


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
