"""Reads the Hosted UI's login form the way a browser would (shared by every scripted browser)."""

from __future__ import annotations

from html.parser import HTMLParser


class LoginForm(HTMLParser):
    """The page's form: its attributes, its hidden inputs, and every named input's value."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.hidden: dict[str, str] = {}
        self.fields: dict[str, str] = {}

    @property
    def action(self) -> str:
        return self.form.get("action", "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.form:
            self.form = values
        elif tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")
            if values.get("type") == "hidden":
                self.hidden[values["name"]] = values.get("value", "")


def parse_login_form(html: str) -> LoginForm:
    form = LoginForm()
    form.feed(html)
    return form
