"""The account-linking attack in Debian's Chromium: mallory starts Connect in her browser and
gets someone else's browser to sign in with her link. Nothing may be stored under mallory."""

from __future__ import annotations

import pytest
from support.browser import NewBrowser
from support.demo_app_moves import (
    app_sign_in,
    assert_not_connected,
    demo_user_signs_in,
    notice,
    press_connect,
    wait_for_revoked_sign_ins,
)
from support.dev_stack import DevStack

pytestmark = pytest.mark.browser


def _attack(stack: DevStack, new_browser: NewBrowser, name: str, code: str) -> None:
    """Mallory's link, signed in by the demo user in a second, cookie-less profile."""
    mallory = new_browser()
    app_sign_in(mallory, stack, "mallory")
    link = press_connect(mallory, stack)
    revoked = stack.stand_in_stats()["sign_ins_revoked"]

    victim = new_browser()
    victim.open(link)
    demo_user_signs_in(victim, stack)

    assert victim.url == f"{stack.app_url}/"
    assert notice(victim).outcome == "mismatch"
    assert victim.text("notice-code") == code
    victim.screenshot(name)
    assert_not_connected(stack, "mallory")
    assert wait_for_revoked_sign_ins(stack, revoked + 1) == revoked + 1
    mallory.open(stack.app_url)
    assert mallory.find("connection").get_attribute("data-status") == "not-connected"


def test_in_confirm_mode_the_app_refuses_a_sign_in_it_did_not_start(
    confirm_stack: DevStack, new_browser: NewBrowser
) -> None:
    # The victim's browser has no session that started this flow: the app rejects the grant.
    _attack(confirm_stack, new_browser, "account-linking-confirm", "rejected")


def test_in_claim_mode_the_connector_refuses_another_cognito_user(
    claim_stack: DevStack, new_browser: NewBrowser
) -> None:
    code = "error=IDENTITY_MISMATCH reason=claim_mismatch"
    _attack(claim_stack, new_browser, "account-linking-claim", code)


def test_in_claim_mode_the_app_user_named_like_the_cognito_user_connects(
    claim_stack: DevStack, new_browser: NewBrowser
) -> None:
    # The banner's examples act for the user id the claim names: the demo user's username.
    assert claim_stack.user_id == "demo"
    browser = new_browser()
    app_sign_in(browser, claim_stack, claim_stack.user_id)
    press_connect(browser, claim_stack)

    demo_user_signs_in(browser, claim_stack)

    assert browser.url == f"{claim_stack.app_url}/"
    assert notice(browser).outcome == "connected"
    assert "demo / demo@example.com" in browser.text("connection")
    browser.screenshot("connected-claim")
