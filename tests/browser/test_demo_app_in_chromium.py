"""The demo app and the Hosted UI stand-in in Debian's Chromium, through a real `connector dev`
in `confirm` mode: connect, a wrong password, Cancel, a reloaded callback, the OpenAPI page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from support.browser import NewBrowser
from support.demo_app_moves import (
    app_sign_in,
    assert_not_connected,
    connection_answer,
    demo_user_signs_in,
    notice,
    press_connect,
)
from support.dev_stack import DevStack

pytestmark = pytest.mark.browser


def test_with_javascript_off_a_user_connects_sees_buckets_invokes_and_disconnects(
    confirm_stack: DevStack, new_browser: NewBrowser
) -> None:
    browser = new_browser(javascript=False)
    app_sign_in(browser, confirm_stack, "browser-happy")
    assert browser.find("connection").get_attribute("data-status") == "not-connected"
    press_connect(browser, confirm_stack)
    browser.requested_urls()  # forget what came before the sign-in

    demo_user_signs_in(browser, confirm_stack)

    assert browser.url == f"{confirm_stack.app_url}/"  # nothing left in the address bar
    hops = browser.requested_urls()
    returned = next(u for u in hops if u.startswith(f"{confirm_stack.app_url}/return?"))
    assert set(parse_qs(urlsplit(returned).query)) == {"status", "state", "confirmation"}
    assert notice(browser).outcome == "connected"
    assert "Connected as demo / demo@example.com" in notice(browser).text
    assert "demo / demo@example.com" in browser.text("connection")
    buckets = browser.text("buckets")
    assert "demo-bucket" in buckets
    assert "hello.txt" in buckets
    browser.screenshot("connected")

    browser.click("invoke")
    assert notice(browser).outcome == "invoked"
    assert '"payload": {"hello": "from the demo app"}' in browser.text("notice-code")

    browser.click("disconnect")
    assert notice(browser).outcome == "disconnected"
    assert browser.find("connection").get_attribute("data-status") == "not-connected"
    assert_not_connected(confirm_stack, "browser-happy")


def test_a_wrong_password_shows_the_stand_ins_message_and_stores_nothing(
    confirm_stack: DevStack, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    app_sign_in(browser, confirm_stack, "browser-wrong-password")
    auth_url = press_connect(browser, confirm_stack)

    browser.type("username", "demo")
    browser.type("password", "not-the-password")
    browser.click("signInSubmitButton", by=By.NAME)

    assert browser.text("error") == "Incorrect username or password."
    assert browser.url.startswith(confirm_stack.facts["hostedUiUrl"])
    browser.screenshot("wrong-password")
    assert_not_connected(confirm_stack, "browser-wrong-password")
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    with confirm_stack.api() as api:
        assert api.get(f"/connect/status/{state}").json()["data"]["status"] == "pending"


def test_cancel_at_the_stand_in_comes_back_as_access_denied(
    confirm_stack: DevStack, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    app_sign_in(browser, confirm_stack, "browser-cancel")
    press_connect(browser, confirm_stack)
    cancels = confirm_stack.stand_in_stats()["login_cancels"]

    browser.click("cancel", by=By.NAME)

    assert browser.url == f"{confirm_stack.app_url}/"
    assert notice(browser).outcome == "cancelled"
    assert "reason=access_denied" in browser.text("notice-code")
    browser.screenshot("cancelled")
    assert confirm_stack.stand_in_stats()["login_cancels"] == cancels + 1
    assert_not_connected(confirm_stack, "browser-cancel")


def test_reloading_the_used_callback_url_shows_the_expired_link_page(
    confirm_stack: DevStack, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    app_sign_in(browser, confirm_stack, "browser-reload")
    press_connect(browser, confirm_stack)
    browser.requested_urls()
    demo_user_signs_in(browser, confirm_stack)
    assert notice(browser).outcome == "connected"
    callback = next(
        url
        for url in browser.requested_urls()
        if url.startswith(f"{confirm_stack.url}/callback?code=")
    )

    browser.open(callback)

    assert browser.driver.find_element(By.TAG_NAME, "h1").text == "Sign-in link expired"
    browser.screenshot("callback-reloaded")
    status, body = connection_answer(confirm_stack, "browser-reload")
    assert (status, body["data"]["username"]) == (200, "demo")


def test_the_openapi_page_renders_from_the_connectors_own_assets(
    confirm_stack: DevStack, new_browser: NewBrowser
) -> None:
    # Chromium here reaches nothing but 127.0.0.1: a CDN asset would leave the page blank.
    browser = new_browser()

    browser.open(f"{confirm_stack.url}/schema/swagger")

    browser.wait(lambda: len(browser.driver.find_elements(By.CLASS_NAME, "opblock")) > 10)
    assert "connector" in browser.driver.find_element(By.CLASS_NAME, "title").text
    browser.screenshot("openapi")
