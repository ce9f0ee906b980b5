"""`connector dev`: moto, the Hosted UI stand-in, the connector and a demo app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import signal
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import cast

import httpx
import uvicorn
from litestar import Litestar
from litestar.types import ASGIApp

from connector.app import create_app
from connector.sandbox.agent_client import AGENT_CLIENT_ID, agent_callback, agent_client
from connector.sandbox.aws import REGION, AwsEmulator, use_emulator
from connector.sandbox.banner import DEMO_USER_ID, DevFacts, PartnerFacts, banner, ready_line
from connector.sandbox.demo_app import DemoAppConfig, create_demo_app, return_urls
from connector.sandbox.demo_key import issue_demo_key
from connector.sandbox.environment import (
    ENV_FILE,
    SandboxSettings,
    public_url,
    sandbox_settings,
    write_env_file,
)
from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    HostedUiDomains,
    SandboxUser,
    create_hosted_ui_app,
)
from connector.sandbox.seed import DEMO_OBJECTS, PARTNER, SeededAws, SeededPool, seed
from connector.sandbox.servers import LOCALHOST, BackgroundServer, ensure_free, server_config
from connector.settings import Settings

log = logging.getLogger(__name__)
PARTNER_HOST = "localhost"
PROVIDERS_FILE = "providers.toml"
EXIT_FAILED = 1
READY_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class DevOptions:
    port: int = 8000
    cognito_port: int = 9229
    aws_port: int = 5001
    app_port: int = 3000
    data_dir: Path = Path(".connector/dev")

    @property
    def connector_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def hosted_ui_url(self) -> str:
        return f"http://{LOCALHOST}:{self.cognito_port}"

    @property
    def partner_hosted_ui_url(self) -> str:
        """The second provider's Hosted UI domain: the same stand-in, another host name."""
        return f"http://{PARTNER_HOST}:{self.cognito_port}"

    @property
    def app_url(self) -> str:
        return f"http://{LOCALHOST}:{self.app_port}"


def run(options: DevOptions) -> int:
    """Start everything, serve the connector in this thread, stop everything on Ctrl-C/SIGTERM."""
    for port, option in (
        (options.port, "--port"),
        (options.cognito_port, "--cognito-port"),
        (options.aws_port, "--aws-port"),
        (options.app_port, "--app-port"),
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
    developer = dict(os.environ)
    connector_public_url = public_url(developer, options.connector_url)
    seeded = _start_aws(options, f"{connector_public_url}/callback", running)
    _start_hosted_ui(seeded, options, f"{connector_public_url}/callback", running)
    sandbox = sandbox_settings(
        developer,
        sandbox={
            **_cognito_environment(seeded, options, connector_public_url),
            "CONNECTOR_PROVIDERS_FILE": str(_write_providers_file(seeded, data_dir)),
        },
        return_urls=return_urls(options.app_url),
        data_dir=data_dir,
    )
    settings = Settings.from_env(sandbox.environ)
    key_name, api_key = asyncio.run(issue_demo_key(settings))
    demo_app = create_demo_app(_demo_app_config(seeded, options, api_key))
    _start(demo_app, options.app_port, "demo-app", running)
    app = create_app(settings)
    facts = _facts(seeded, options, sandbox, settings, app, key_name=key_name, api_key=api_key)
    write_env_file(Path(facts.env_file), sandbox, _shell_variables(facts))
    threading.Thread(target=_announce, args=(facts,), name="announce", daemon=True).start()
    return _serve(app, options.port)


def _start_aws(options: DevOptions, callback_url: str, running: ExitStack) -> SeededAws:
    emulator = AwsEmulator(options.aws_port)
    emulator.start()
    running.callback(emulator.stop)
    use_emulator(emulator)
    return seed(
        emulator.endpoint_url,
        hosted_ui_url=options.hosted_ui_url,
        callback_url=callback_url,
        partner_hosted_ui_url=options.partner_hosted_ui_url,
    )


def _start_hosted_ui(
    seeded: SeededAws, options: DevOptions, callback_url: str, running: ExitStack
) -> None:
    """One stand-in serving both pools, each at its own domain (host name)."""
    # MCP user mode serves the default provider: its pool alone registers the agent client.
    agents: tuple[AppClient, ...] = (agent_client(options.app_url),)
    pools = [(LOCALHOST, options.hosted_ui_url, seeded.own_pool, agents)]
    if seeded.partner is not None:
        pools.append((PARTNER_HOST, options.partner_hosted_ui_url, seeded.partner, ()))
    domains = HostedUiDomains(
        {
            host: create_hosted_ui_app(_hosted_ui(pool, url, callback_url, extra))
            for host, url, pool, extra in pools
        }
    )
    _start(domains, options.cognito_port, "hosted-ui", running)


def _hosted_ui(
    pool: SeededPool, url: str, callback_url: str, extra_clients: tuple[AppClient, ...]
) -> HostedUi:
    user = pool.user
    return HostedUi(
        HostedUiConfig(
            user_pool_id=pool.user_pool_id,
            issuer_base_url=url,
            region=REGION,
            clients=(
                AppClient(
                    client_id=pool.client_id,
                    client_secret=pool.client_secret,
                    callback_urls=(callback_url,),
                ),
                *extra_clients,
            ),
            users=(SandboxUser(user.username, user.password, user.email, sub=user.sub),),
        )
    )


def _write_providers_file(seeded: SeededAws, data_dir: Path) -> Path:
    """CONNECTOR_PROVIDERS_FILE naming the partner's pools (mode 0600: it holds the client
    secret of an emulated pool, made anew at each start)."""
    path = data_dir / PROVIDERS_FILE
    partner = seeded.partner
    text = "# Written by `connector dev` at each start.\n"
    if partner is not None:
        domain = partner.issuer.rsplit("/", 1)[0]
        text += (
            f"[providers.{PARTNER}]\n"
            f'domain = "{domain}"\n'
            f'client_id = "{partner.client_id}"\n'
            f'client_secret = "{partner.client_secret}"\n'
            f'region = "{REGION}"\n'
            f'user_pool_id = "{partner.user_pool_id}"\n'
            f'identity_pool_id = "{partner.identity_pool_id}"\n'
            f'issuer = "{partner.issuer}"\n'
        )
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")
    return path


def _start(app: Litestar | HostedUiDomains, port: int, name: str, running: ExitStack) -> None:
    server = BackgroundServer(cast("ASGIApp", app), port, name=name)
    server.start()
    running.callback(server.stop)


def _serve(app: Litestar, port: int) -> int:
    """The connector, in this thread, until a signal; uvicorn drains requests before it returns."""
    server = uvicorn.Server(server_config(app, port))
    server.run()
    return 0 if server.started else EXIT_FAILED


def _demo_app_config(seeded: SeededAws, options: DevOptions, api_key: str) -> DemoAppConfig:
    return DemoAppConfig(
        url=options.app_url,
        connector_url=options.connector_url,
        api_key=api_key,
        hosted_ui_url=options.hosted_ui_url,
        function_name=seeded.function_name,
        providers=("default", PARTNER) if seeded.partner is not None else (),
        other_hosted_ui_urls=(options.partner_hosted_ui_url,),
    )


def _cognito_environment(
    seeded: SeededAws, options: DevOptions, connector_public_url: str
) -> dict[str, str]:
    """The pools and the Hosted UI: always the emulators', whatever the environment says."""
    return {
        "AWS_COGNITO_DOMAIN": options.hosted_ui_url,
        "AWS_COGNITO_CLIENT_ID": seeded.client_id,
        "AWS_COGNITO_CLIENT_SECRET": seeded.client_secret,
        "AWS_REGION": REGION,
        "AWS_COGNITO_USER_POOL_ID": seeded.user_pool_id,
        "AWS_COGNITO_IDENTITY_POOL_ID": seeded.identity_pool_id,
        "AWS_COGNITO_ISSUER": seeded.issuer,
        "CONNECTOR_PUBLIC_URL": connector_public_url,
        # MCP user mode: the stand-in's agent client, never the connector's own.
        "CONNECTOR_MCP_CLIENT_IDS": AGENT_CLIENT_ID,
    }


def _facts(
    seeded: SeededAws,
    options: DevOptions,
    sandbox: SandboxSettings,
    settings: Settings,
    app: Litestar,
    *,
    key_name: str,
    api_key: str,
) -> DevFacts:
    data_dir = options.data_dir.resolve()
    env_file = data_dir / ENV_FILE
    keys_command = (
        f"set -a; . {shlex.quote(str(env_file))}; set +a; "
        f"{shlex.quote(sys.executable)} -m connector keys list"
    )
    return DevFacts(
        demo_app_url=options.app_url,
        connector_url=options.connector_url,
        hosted_ui_url=options.hosted_ui_url,
        demo_return_url=return_urls(options.app_url)[1],
        aws_endpoint_url=f"http://{LOCALHOST}:{options.aws_port}",
        region=REGION,
        username=seeded.user.username,
        password=seeded.user.password,
        email=seeded.user.email,
        api_key=api_key,
        api_key_name=key_name,
        user_id=_example_user_id(settings, seeded),
        user_pool_id=seeded.user_pool_id,
        identity_pool_id=seeded.identity_pool_id,
        client_id=seeded.client_id,
        issuer=seeded.issuer,
        bucket=seeded.bucket,
        objects=tuple(DEMO_OBJECTS),
        function_name=seeded.function_name,
        identity_binding=_binding(settings),
        data_dir=str(data_dir),
        env_file=str(env_file),
        keys_command=keys_command,
        from_environment=sandbox.from_developer,
        served_paths=tuple(sorted({route.path for route in app.routes})),
        mcp_url=f"{options.connector_url}/mcp",
        agent_client_id=AGENT_CLIENT_ID,
        agent_callback=agent_callback(options.app_url),
        partner=_partner_facts(seeded, options),
    )


def _partner_facts(seeded: SeededAws, options: DevOptions) -> PartnerFacts | None:
    partner = seeded.partner
    if partner is None:
        return None
    return PartnerFacts(
        provider=PARTNER,
        hosted_ui_url=options.partner_hosted_ui_url,
        issuer=partner.issuer,
        user_pool_id=partner.user_pool_id,
        identity_pool_id=partner.identity_pool_id,
        client_id=partner.client_id,
        username=partner.user.username,
        password=partner.user.password,
        email=partner.user.email,
    )


def _example_user_id(settings: Settings, seeded: SeededAws) -> str:
    """The `X-User-Id` of the banner's examples: under `claim:`, the demo user's own claim."""
    user = seeded.user
    claims = {"sub": user.sub, "cognito:username": user.username, "email": user.email}
    return claims.get(settings.binding.claim or "", DEMO_USER_ID)


def _binding(settings: Settings) -> str:
    """The binding mode in `CONNECTOR_IDENTITY_BINDING`'s own spelling."""
    binding = settings.binding
    return binding.mode if binding.claim is None else f"{binding.mode}:{binding.claim}"


def _shell_variables(facts: DevFacts) -> dict[str, str]:
    """What the README's and the banner's commands use, as the env file defines it."""
    return {
        "CONNECTOR_URL": facts.connector_url,
        "KEY": facts.api_key,
        "CONNECTOR_API_KEY": facts.api_key,
        "DEMO_APP_URL": facts.demo_app_url,
        "DEMO_RETURN_URL": facts.demo_return_url,
        "HOSTED_UI_URL": facts.hosted_ui_url,
        "AWS_EMULATOR_URL": facts.aws_endpoint_url,
        "DEMO_USERNAME": facts.username,
        "DEMO_PASSWORD": facts.password,
    }


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
