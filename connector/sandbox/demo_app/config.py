"""What the demo app needs to know: where it lives, where the connector is, its API key."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import NamedDependency


@dataclass(frozen=True, slots=True)
class DemoAppConfig:
    url: str
    """Where the demo app is served; its return URL is `<url>/return`."""
    connector_url: str
    api_key: str
    """The app's key for the connector: it stays on the server, never in a page."""
    hosted_ui_url: str
    function_name: str
    suggested_users: tuple[str, ...] = ("demo-user", "demo", "mallory")
    providers: tuple[str, ...] = ()
    """The connector's providers, when it has several: the app offers to connect to each."""
    other_hosted_ui_urls: tuple[str, ...] = ()
    """The Hosted UI domains of the other providers (the pages' form-action allows them)."""

    @property
    def return_url(self) -> str:
        return return_urls(self.url)[0]


def return_urls(app_url: str) -> tuple[str, str]:
    """The app's return URL, and the page that only shows what came back (for curl users);
    both go on the connector's allow-list."""
    return f"{app_url}/return", f"{app_url}/echo"


Config = NamedDependency[DemoAppConfig]
