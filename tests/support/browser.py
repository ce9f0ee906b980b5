"""Debian's Chromium, headless, through selenium: one fresh profile per `Browser`."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "browser"
WAIT = 15.0
# Headless, as root in CI (no sandbox), and quiet: nothing may reach out to the internet.
_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,900",
)


NewBrowser = Callable[..., "Browser"]
"""The `new_browser` fixture: `new_browser(javascript=True)` opens another fresh profile."""


def missing_browser() -> str | None:
    """Why Chromium cannot run here, or None. `scripts/test` installs both packages."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing: run scripts/browsers (apt-get install -y {package})"
    return None


class Browser:
    """One Chromium profile (its own cookie jar) and the few moves the tests make."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id: str) -> str:
        return str(self.find(element_id).text)

    def has(self, element_id: str) -> bool:
        return bool(self.driver.find_elements(By.ID, element_id))

    def type(self, element_id: str, text: str) -> None:
        field = self.find(element_id)
        field.clear()
        field.send_keys(text)

    def click(self, locator: str, *, by: str = By.ID) -> None:
        """Click and wait until the page it leads to has replaced this one."""
        old_page = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(by, locator).click()
        self.wait(lambda: _is_stale(old_page))
        self.wait(lambda: self.driver.execute_script("return document.readyState") == "complete")

    def wait(self, condition: Callable[[], Any], timeout: float = WAIT) -> None:
        WebDriverWait(self.driver, timeout).until(lambda _: condition())

    def requested_urls(self) -> list[str]:
        """Every document URL the browser requested since the last call (redirect hops too)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(str(message["params"]["request"]["url"]))
        return urls

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def _is_stale(element: WebElement) -> bool:
    try:
        element.is_enabled()
    except WebDriverException:  # stale, or "does not belong to the document": replaced
        return True
    return False


@contextmanager
def chromium(*, javascript: bool = True) -> Iterator[Browser]:
    """A fresh profile (empty user data dir: no cookies, no history), quit at the end."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (*_ARGUMENTS, f"--user-data-dir={profile}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        if not javascript:
            blocked = {"profile.managed_default_content_settings.javascript": 2}
            options.add_experimental_option("prefs", blocked)
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        try:
            yield Browser(driver)
        finally:
            driver.quit()
