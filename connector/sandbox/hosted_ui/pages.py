"""The HTML of the login form and the error page: minimal, valid, every value escaped."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from html import escape

_STYLE = (
    "body{font-family:sans-serif;max-width:22rem;margin:4rem auto}label,input{display:block}"
    "input{margin-bottom:1rem}button{margin-right:.5rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

# No `form-action`: Chromium checks it against every hop of the redirect chain that follows the
# POST (/login -> the app client's callback -> wherever that app sends the browser next), and
# no list written here can name the last hops. What the directive would guard against, a form
# injected into the page, cannot happen: every value is escaped, no script runs
# (`default-src 'none'`), and `base-uri 'none'` keeps the relative action pointing here.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def login_page(hidden: Mapping[str, str], *, message: str | None = None, username: str = "") -> str:
    """The sign-in form posting to /login, carrying the authorization request in hidden fields.
    Cancel submits the same form without its checks (`formnovalidate`): no script needed."""
    fields = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    error = f'<p role="alert" id="error">{escape(message)}</p>\n' if message else ""
    body = (
        "<h1>Sign in</h1>\n"
        f"{error}"
        '<form method="post" action="/login">\n'
        f"{fields}\n"
        '<label for="username">Username</label>\n'
        f'<input id="username" name="username" type="text" autocomplete="username" '
        f'value="{escape(username)}" required>\n'
        '<label for="password">Password</label>\n'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>\n'
        '<button type="submit" name="signInSubmitButton">Sign in</button>\n'
        '<button type="submit" name="cancel" value="cancel" formnovalidate>Cancel</button>\n'
        "</form>"
    )
    return _page("Sign in", body)


def error_page(error: str, message: str) -> str:
    """What Cognito shows when it has no trusted redirect URI to send the error to."""
    body = (
        "<h1>An error was encountered with the requested page.</h1>\n"
        f'<p id="error" data-error="{escape(error)}">{escape(message)}</p>'
    )
    return _page("Error", body)
