"""The `connector` command: serve, migrate, keys, webhooks, encryption-key, reencrypt.

This module imports the standard library, the settings and the errors, nothing else: each
command imports what it uses when it runs, so `connector --help` loads no framework, SDK or
database driver, and `keys list` loads the SQL adapter but not boto3, redis or Litestar.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.errors import ConfigurationError, ConnectorError
from connector.logs.setup import configure_from_environment, log_options
from connector.settings import Settings

if TYPE_CHECKING:
    from connector.services.api_keys import ApiKeyService
    from connector.services.webhooks import WebhookAdmin

EXIT_CONFIG = 2
EXIT_FAILED = 1
log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.handler
    try:
        configure_from_environment()
        return command(args)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except ConnectorError as exc:
        print(f"error: {exc.error_code}: {exc.message}", file=sys.stderr)  # noqa: T201
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the production server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="server processes (default: $WEB_CONCURRENCY, else 1)",
    )
    serve.set_defaults(handler=_serve)

    dev = commands.add_parser("dev", help="run the embedded sandbox (AWS emulator, Hosted UI)")
    dev.add_argument("--port", type=int, default=8000, help="connector port (%(default)s)")
    dev.add_argument("--cognito-port", type=int, default=9229, help="Hosted UI (%(default)s)")
    dev.add_argument("--aws-port", type=int, default=5001, help="AWS emulator (%(default)s)")
    dev.add_argument("--app-port", type=int, default=3000, help="demo web app (%(default)s)")
    dev.add_argument(
        "--data-dir", type=Path, default=Path(".connector/dev"), help="SQLite file, keys, env file"
    )
    dev.set_defaults(handler=_dev)

    migrate = commands.add_parser("migrate", help="bring the database schema to head (idempotent)")
    migrate.set_defaults(handler=_run(_migrate))

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = keys.add_parser("create", help="create a key; prints it once, as JSON")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", default=[], dest="scopes")
    create.add_argument("--bucket", action="append", default=[], dest="buckets")
    create.add_argument("--function", action="append", default=[], dest="functions")
    create.add_argument("--read-only", action="store_true")
    create.add_argument(
        "--role", default=None, help="IAM role ARN the user's credentials are chained into"
    )
    create.add_argument(
        "--provider",
        action="append",
        default=[],
        dest="providers",
        help="limit the key to this provider (repeatable; default: every provider)",
    )
    create.set_defaults(handler=_run(_keys_create))
    keys.add_parser("list", help="every key, without secrets").set_defaults(
        handler=_run(_keys_list)
    )
    revoke = keys.add_parser("revoke", help="revoke a key by id or name, at once")
    revoke.add_argument("id_or_name")
    revoke.set_defaults(handler=_run(_keys_revoke))

    encryption = commands.add_parser("encryption-key", help="encryption keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    encryption.add_parser("generate", help="print a new Fernet key").set_defaults(
        handler=_generate_encryption_key
    )

    webhooks = commands.add_parser("webhooks", help="the webhook outbox").add_subparsers(
        required=True, metavar="ACTION"
    )
    listing = webhooks.add_parser("list", help="the newest webhook records, as JSON")
    listing.add_argument("--limit", type=_positive, default=100)
    listing.set_defaults(handler=_run(_webhooks_list))
    redeliver = webhooks.add_parser("redeliver", help="send one record again (same webhook-id)")
    redeliver.add_argument("id")
    redeliver.set_defaults(handler=_run(_webhooks_redeliver))

    reencrypt = commands.add_parser("reencrypt", help="rewrite every secret under the first key")
    reencrypt.set_defaults(handler=_run(_reencrypt))

    process = commands.add_parser(
        "credential-process",
        help="print a user's AWS credentials for ~/.aws/config's credential_process"
        " (API key from $CONNECTOR_API_KEY)",
    )
    process.add_argument("--url", required=True, help="the connector's base URL")
    process.add_argument("--user", required=True, help="the user id to act for")
    process.set_defaults(handler=_credential_process)
    return parser


def _credential_process(args: argparse.Namespace) -> int:
    """The AWS SDKs' `credential_process` output: one JSON object, `Version: 1`. Failures go
    to stderr with a non-zero exit, which the SDKs report with that text."""
    from connector_client import ConnectorClient, ConnectorClientError  # noqa: PLC0415

    api_key = os.environ.get("CONNECTOR_API_KEY", "")
    if not api_key:
        print("error: set CONNECTOR_API_KEY to the API key", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    try:
        with ConnectorClient(args.url, api_key, timeout=10.0) as client:
            credentials = client.get_credentials(args.user)
    except ConnectorClientError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_FAILED
    expiration = credentials.expiration.astimezone(UTC).replace(microsecond=0)
    return _print_json(
        {
            "Version": 1,
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def _positive(text: str) -> int:
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _run(
    command: Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    """An async command with settings read from the environment."""

    def handler(args: argparse.Namespace) -> int:
        return asyncio.run(command(args, Settings.from_env(os.environ)))

    return handler


def _print_json(value: Any) -> int:
    import msgspec  # noqa: PLC0415 - see the module docstring

    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")
    return 0


def _print_line(text: str) -> int:
    sys.stdout.write(text + "\n")
    return 0


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """How many server processes `serve` starts, and why it started fewer than asked."""

    count: int
    warning: str | None = None


MEMORY_CACHE_IS_PER_PROCESS = (
    "memory:// cannot be shared by several workers; set a redis:// URL or use --workers 1"
)


def plan_workers(requested: int | None, environ: Mapping[str, str], cache_url: str) -> WorkerPlan:
    """`--workers` when given, else `WEB_CONCURRENCY` (set by Heroku and other platforms from
    the instance size), else 1.

    The memory:// cache lives inside one process, so workers cannot share its locks and OAuth
    state: an explicit `--workers N > 1` with it is refused, while a platform's
    `WEB_CONCURRENCY` runs one worker with a warning (a default deploy must start).
    """
    per_process_cache = cache_url.startswith("memory://")
    if requested is not None:
        if requested > 1 and per_process_cache:
            raise ConfigurationError("CONNECTOR_REDIS_URL", MEMORY_CACHE_IS_PER_PROCESS)
        return WorkerPlan(requested)
    text = environ.get("WEB_CONCURRENCY", "").strip()
    if not text:
        return WorkerPlan(1)
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError("WEB_CONCURRENCY", f"must be a whole number >= 1, got {text!r}")
    count = int(text)
    if count > 1 and per_process_cache:
        return WorkerPlan(
            1,
            warning=(
                f"WEB_CONCURRENCY={count} but CONNECTOR_REDIS_URL is memory://, which workers "
                f"cannot share: running 1 worker (set a redis:// URL to run {count})"
            ),
        )
    return WorkerPlan(count)


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env(os.environ)
    plan = plan_workers(args.workers, os.environ, settings.cache.url)
    if plan.warning:
        log.warning("%s", plan.warning)
    from connector import tracing  # noqa: PLC0415 - standard library only

    if tracing.requested(os.environ):
        tracing.check_installed()
    # Before anything imports prometheus_client (it picks its storage at import).
    metrics_dir, owned = _metrics_dir(os.environ)
    os.environ[MULTIPROC_VARIABLE] = str(metrics_dir)
    try:
        # Fail here, with one line, rather than inside each worker's lifespan.
        asyncio.run(_preflight(settings))
        _run_server(args, plan)
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_dir(environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The workers' shared metrics directory, emptied: the operator's PROMETHEUS_MULTIPROC_DIR
    (kept afterwards), else a private temporary one (removed when `serve` ends)."""
    given = environ.get(MULTIPROC_VARIABLE, "").strip()
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="connector-metrics-"))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    return path, not given


def _run_server(args: argparse.Namespace, plan: WorkerPlan) -> None:
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from connector.access_log import uvicorn_log_config  # noqa: PLC0415 - imports uvicorn

    uvicorn.run(
        "connector.app:create_app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=plan.count,
        proxy_headers=True,
        server_header=False,
        # Every worker logs as this process does: redacted, access lines without query strings.
        log_config=uvicorn_log_config(log_options(os.environ)),
    )


def _dev(args: argparse.Namespace) -> int:
    # The sandbox pulls in moto: only `connector dev` imports it.
    from connector.sandbox import dev  # noqa: PLC0415

    return dev.run(
        dev.DevOptions(
            port=args.port,
            cognito_port=args.cognito_port,
            aws_port=args.aws_port,
            app_port=args.app_port,
            data_dir=args.data_dir,
        )
    )


def _generate_encryption_key(_: argparse.Namespace) -> int:
    from connector.adapters.crypto import generate_key  # noqa: PLC0415

    return _print_line(generate_key())


async def _preflight(settings: Settings) -> None:
    from connector.bootstrap import build_container  # noqa: PLC0415

    container = await build_container(settings)
    await container.close()


async def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    # Opening with auto-migration on is the migration (under an advisory lock on PostgreSQL);
    # the s3:// store has no schema, and opening it checks the bucket and its permissions.
    from connector.bootstrap import open_database  # noqa: PLC0415

    forced = replace(settings, database=replace(settings.database, auto_migrate=True))
    database = await open_database(forced)
    await database.close()
    if settings.database.is_s3:
        return _print_line("nothing to migrate: the s3:// store has no schema (bucket checked)")
    return _print_line("database schema is at head")


async def _with_keys(settings: Settings, action: Callable[[ApiKeyService], Awaitable[int]]) -> int:
    from connector.bootstrap import open_database, process_layer  # noqa: PLC0415
    from connector.services.api_keys import ApiKeyService  # noqa: PLC0415
    from connector.services.clock import SystemClock  # noqa: PLC0415

    database = await open_database(settings)
    try:
        layer = process_layer(settings)
        try:
            return await action(ApiKeyService(database.api_keys, SystemClock(), layer))
        finally:
            await layer.close()
    finally:
        await database.close()


async def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from connector.api.schemas import CreatedApiKey  # noqa: PLC0415

    async def create(service: ApiKeyService) -> int:
        key, raw = await service.create(
            args.name,
            scopes=args.scopes,
            buckets=args.buckets,
            functions=args.functions,
            read_only=args.read_only,
            role=args.role,
            providers=args.providers,
            configured=[p.name for p in settings.provider_set] or None,
        )
        return _print_json(CreatedApiKey.of(key, raw))

    return await _with_keys(settings, create)


async def _keys_list(_: argparse.Namespace, settings: Settings) -> int:
    from connector.api.schemas import ApiKeyView  # noqa: PLC0415

    async def list_keys(service: ApiKeyService) -> int:
        return _print_json([ApiKeyView.of(k) for k in await service.list()])

    return await _with_keys(settings, list_keys)


async def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from connector.api.schemas import ApiKeyView  # noqa: PLC0415

    async def revoke(service: ApiKeyService) -> int:
        return _print_json(ApiKeyView.of(await service.revoke(args.id_or_name)))

    return await _with_keys(settings, revoke)


async def _with_webhooks(
    settings: Settings, action: Callable[[WebhookAdmin], Awaitable[int]]
) -> int:
    from connector.bootstrap import open_database  # noqa: PLC0415
    from connector.services.clock import SystemClock  # noqa: PLC0415
    from connector.services.webhooks import WebhookAdmin  # noqa: PLC0415

    database = await open_database(settings)
    try:
        if database.outbox is None:
            raise ConfigurationError(
                "CONNECTOR_DATABASE_URL", "this store of record keeps no webhook outbox"
            )
        return await action(WebhookAdmin(database.outbox, SystemClock()))
    finally:
        await database.close()


async def _webhooks_list(args: argparse.Namespace, settings: Settings) -> int:
    from connector.api.webhook_schemas import WebhookRecordView  # noqa: PLC0415

    async def list_records(admin: WebhookAdmin) -> int:
        records = await admin.list(limit=args.limit)
        return _print_json([WebhookRecordView.of(r) for r in records])

    return await _with_webhooks(settings, list_records)


async def _webhooks_redeliver(args: argparse.Namespace, settings: Settings) -> int:
    from connector.api.webhook_schemas import WebhookRecordView  # noqa: PLC0415

    async def redeliver(admin: WebhookAdmin) -> int:
        return _print_json(WebhookRecordView.of(await admin.redeliver(args.id)))

    return await _with_webhooks(settings, redeliver)


async def _reencrypt(_: argparse.Namespace, settings: Settings) -> int:
    from connector.bootstrap import build_cipher, open_database  # noqa: PLC0415
    from connector.services.reencryption import Reencryptor  # noqa: PLC0415

    database = await open_database(settings)
    try:
        report = await Reencryptor(database.connections, build_cipher(settings)).run()
    finally:
        await database.close()
    _print_json(report)
    return EXIT_FAILED if report.failed or report.conflicted else 0
