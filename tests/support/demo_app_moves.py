"""What a person does in the demo app and at the Hosted UI stand-in, as browser moves."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from selenium.webdriver.common.by import By

from support.browser import Browser
from support.dev_stack import DevStack


@dataclass(frozen=True)
class Notice:
    outcome: str
    text: str


def app_sign_in(browser: Browser, stack: DevStack, user: str) -> None:
    """Open the demo app in this profile and sign in to it as the app user `user`."""
    browser.open(stack.app_url)
    browser.type("user", user)
    browser.click("sign-in")
    assert browser.text("app-user") == user


def press_connect(browser: Browser, stack: DevStack) -> str:
    """Connect, from the signed-in app page: returns the stand-in URL the browser was sent to."""
    browser.click("connect")
    assert browser.url.startswith(f"{stack.facts['hostedUiUrl']}/oauth2/authorize?"), browser.url
    return browser.url


def cognito_sign_in(browser: Browser, username: str, password: str) -> None:
    """Fill in and submit the stand-in's sign-in form."""
    browser.type("username", username)
    browser.type("password", password)
    browser.click("signInSubmitButton", by=By.NAME)


def demo_user_signs_in(browser: Browser, stack: DevStack) -> None:
    cognito_sign_in(browser, stack.facts["username"], stack.facts["password"])


def notice(browser: Browser) -> Notice:
    element = browser.find("notice")
    return Notice(str(element.get_attribute("data-outcome")), str(element.text))


def connection_answer(stack: DevStack, user: str) -> tuple[int, dict[str, Any]]:
    """GET /connection for the app user, as the connector answers it."""
    with stack.api(user) as api:
        answer = api.get("/connection")
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


def assert_not_connected(stack: DevStack, user: str) -> None:
    status, body = connection_answer(stack, user)
    assert (status, body.get("code")) == (404, "NOT_CONNECTED"), body


def wait_for_revoked_sign_ins(stack: DevStack, expected: int, timeout: float = 5.0) -> int:
    """The stand-in's count of revoked sign-ins once it reaches `expected` (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        count = int(stack.stand_in_stats()["sign_ins_revoked"])
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)
