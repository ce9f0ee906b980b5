"""A stand-in for the Cognito Hosted UI and OAuth2 endpoints, which moto does not implement."""

from connector.sandbox.hosted_ui.app import create_hosted_ui_app
from connector.sandbox.hosted_ui.clock import Clock, ManualClock, system_clock
from connector.sandbox.hosted_ui.config import AppClient, HostedUiConfig, SandboxUser
from connector.sandbox.hosted_ui.directory import InMemoryUserDirectory, UserDirectory
from connector.sandbox.hosted_ui.domains import HostedUiDomains
from connector.sandbox.hosted_ui.faults import Endpoint
from connector.sandbox.hosted_ui.hosted_ui import HostedUi
from connector.sandbox.hosted_ui.keys import KeySet, SigningKey
from connector.sandbox.hosted_ui.stats import HostedUiStats

__all__ = [
    "AppClient",
    "Clock",
    "Endpoint",
    "HostedUi",
    "HostedUiConfig",
    "HostedUiDomains",
    "HostedUiStats",
    "InMemoryUserDirectory",
    "KeySet",
    "ManualClock",
    "SandboxUser",
    "SigningKey",
    "UserDirectory",
    "create_hosted_ui_app",
    "system_clock",
]
