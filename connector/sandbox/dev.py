"""`connector dev`: moto, the Hosted UI stand-in and the connector, wired together on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
import uvicorn
from litestar import Litestar

from connector.adapters.crypto import generate_key
from connector.app import create_app
from connector.sandbox.aws import REGION, AwsEmulator, use_emulator
from connector.sandbox.banner import DEMO_USER_ID, DevFacts, banner, ready_line
from connector.sandbox.demo_key import issue_demo_key
from connector.sandbox.demo_page import DEMO_PATH, with_demo_page
from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    SandboxUser,
    create_hosted_ui_app,
)
from connector.sandbox.seed import DEMO_OBJECTS, SeededAws, seed
from connector.sandbox.servers import LOCALHOST, BackgroundServer, ensure_free, server_config
from connector.settings import Settings

log = logging.getLogger(__name__)
EXIT_FAILED = 1
READY_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class DevOptions:
    port: int = 8000
    cognito_port: int = 9229
    aws_port: int = 5001
    data_dir: Path = Path(".connector/dev")

    @property
    def connector_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def hosted_ui_url(self) -> str:
        return f"http://{LOCALHOST}:{self.cognito_port}"


def run(options: DevOptions) -> int:
    """Start everything, serve the connector in this thread, stop everything on Ctrl-C/SIGTERM."""
    for port, option in (
        (options.port, "--port"),
        (options.cognito_port, "--cognito-port"),
        (options.aws_port, "--aws-port"),
    ):
        ensure_free(port, option)
    # SIGTERM unwinds like Ctrl-C, so the exit stack stops the stand-in and moto. SIGINT gets
    # the same handler so that asyncio's runner keeps its hands off it.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with ExitStack() as running:
        try:
            return _run(options, running)
        except KeyboardInterrupt:
            log.info("connector dev: stopping")
            return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run(options: DevOptions, running: ExitStack) -> int:
    data_dir = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    seeded = _start_aws(options, running)
    _start_hosted_ui(seeded, options, running)
    settings = Settings.from_env(_environment(seeded, options, data_dir))
    key_name, api_key = asyncio.run(issue_demo_key(settings))
    app = create_app(settings)
    facts = _facts(seeded, options, data_dir, app, key_name=key_name, api_key=api_key)
    threading.Thread(target=_announce, args=(facts,), name="announce", daemon=True).start()
    return _serve(app, options.port)


def _start_aws(options: DevOptions, running: ExitStack) -> SeededAws:
    emulator = AwsEmulator(options.aws_port)
    emulator.start()
    running.callback(emulator.stop)
    use_emulator(emulator)
    return seed(
        emulator.endpoint_url,
        hosted_ui_url=options.hosted_ui_url,
        callback_url=f"{options.connector_url}/callback",
    )


def _start_hosted_ui(seeded: SeededAws, options: DevOptions, running: ExitStack) -> None:
    site = with_demo_page(create_hosted_ui_app(_hosted_ui(seeded, options)))
    server = BackgroundServer(site, options.cognito_port, name="hosted-ui")
    server.start()
    running.callback(server.stop)


def _serve(app: Litestar, port: int) -> int:
    """The connector, in this thread, until a signal; uvicorn drains requests before it returns."""
    server = uvicorn.Server(server_config(app, port))
    server.run()
    return 0 if server.started else EXIT_FAILED


def _hosted_ui(seeded: SeededAws, options: DevOptions) -> HostedUi:
    user = seeded.user
    return HostedUi(
        HostedUiConfig(
            user_pool_id=seeded.user_pool_id,
            issuer_base_url=options.hosted_ui_url,
            region=REGION,
            clients=(
                AppClient(
                    client_id=seeded.client_id,
                    client_secret=seeded.client_secret,
                    callback_urls=(f"{options.connector_url}/callback",),
                ),
            ),
            users=(SandboxUser(user.username, user.password, user.email, sub=user.sub),),
        )
    )


def _environment(seeded: SeededAws, options: DevOptions, data_dir: Path) -> dict[str, str]:
    return {
        "AWS_COGNITO_DOMAIN": options.hosted_ui_url,
        "AWS_COGNITO_CLIENT_ID": seeded.client_id,
        "AWS_COGNITO_CLIENT_SECRET": seeded.client_secret,
        "AWS_REGION": REGION,
        "AWS_COGNITO_USER_POOL_ID": seeded.user_pool_id,
        "AWS_COGNITO_IDENTITY_POOL_ID": seeded.identity_pool_id,
        "AWS_COGNITO_ISSUER": seeded.issuer,
        "CONNECTOR_PUBLIC_URL": options.connector_url,
        "CONNECTOR_REDIRECT_ALLOWLIST": f"{options.hosted_ui_url}{DEMO_PATH}",
        "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'connector.db'}",
        "CONNECTOR_REDIS_URL": "memory://",
        "CONNECTOR_ENCRYPTION_KEYS": _encryption_key(data_dir / "encryption.key"),
    }


def _encryption_key(path: Path) -> str:
    """The sandbox's Fernet key: made at the first start, then kept so stored tokens stay open."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(generate_key() + "\n", encoding="ascii")
    return path.read_text(encoding="ascii").strip()


def _facts(
    seeded: SeededAws,
    options: DevOptions,
    data_dir: Path,
    app: Litestar,
    *,
    key_name: str,
    api_key: str,
) -> DevFacts:
    return DevFacts(
        connector_url=options.connector_url,
        hosted_ui_url=options.hosted_ui_url,
        demo_return_url=f"{options.hosted_ui_url}{DEMO_PATH}",
        aws_endpoint_url=f"http://{LOCALHOST}:{options.aws_port}",
        region=REGION,
        username=seeded.user.username,
        password=seeded.user.password,
        email=seeded.user.email,
        api_key=api_key,
        api_key_name=key_name,
        user_id=DEMO_USER_ID,
        user_pool_id=seeded.user_pool_id,
        identity_pool_id=seeded.identity_pool_id,
        client_id=seeded.client_id,
        issuer=seeded.issuer,
        bucket=seeded.bucket,
        objects=tuple(DEMO_OBJECTS),
        function_name=seeded.function_name,
        data_dir=str(data_dir),
        served_paths=tuple(sorted({route.path for route in app.routes})),
    )


def _announce(facts: DevFacts) -> None:
    """Print the banner once the connector's /health answers 200."""
    deadline = time.monotonic() + READY_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{facts.connector_url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            log.error("connector dev: /health did not answer within %.0f s", READY_TIMEOUT)
            return
    sys.stdout.write(f"{banner(facts)}\n{ready_line(facts)}\n")
    sys.stdout.flush()
