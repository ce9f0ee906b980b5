"""The demo app `connector dev` serves: a web app integrating the connector (not part of it)."""

from connector.sandbox.demo_app.app import create_demo_app
from connector.sandbox.demo_app.config import DemoAppConfig, return_urls

__all__ = ["DemoAppConfig", "create_demo_app", "return_urls"]
