"""The in-process AWS emulator (moto) and the environment that sends every boto3 call to it."""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping

import httpx
from moto.server import ThreadedMotoServer

from connector.sandbox.servers import LOCALHOST

REGION = "us-east-1"
DUMMY_CREDENTIAL = "testing"
# Anything that could send a boto3 call elsewhere than the emulator, or to a real account.
_ESCAPES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


class AwsEmulator:
    """moto's server on 127.0.0.1, with Lambda invoked without Docker (the payload is echoed)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint_url = f"http://{LOCALHOST}:{port}"
        self._server = ThreadedMotoServer(ip_address=LOCALHOST, port=port, verbose=False)

    def start(self) -> None:
        # One log line per emulated request would drown the connector's own log.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        response = httpx.post(
            f"{self.endpoint_url}/moto-api/config",
            json={"lambda": {"use_docker": False}},
            timeout=10,
        )
        response.raise_for_status()

    def stop(self) -> None:
        self._server.stop()


def point_boto3_at(endpoint_url: str, environ: MutableMapping[str, str]) -> None:
    """Make every boto3 client of this process talk to `endpoint_url` with dummy credentials."""
    for name in [*_ESCAPES, *(n for n in environ if n.startswith("AWS_ENDPOINT_URL_"))]:
        environ.pop(name, None)
    environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


def use_emulator(emulator: AwsEmulator) -> None:
    """`point_boto3_at` the emulator for this process (`os.environ`)."""
    point_boto3_at(emulator.endpoint_url, os.environ)
