"""Servers under measurement, each an OS process on a free 127.0.0.1 port: the connector as
`connector serve` (uvicorn) or under granian, and the bare baseline app under either."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from connector.sandbox.servers import LOCALHOST

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0
CONNECTOR_FACTORY = "connector.app:create_app_from_environment"


@dataclass(frozen=True)
class Running:
    url: str
    pid: int


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def command(app: str, server: str, port: int, workers: int) -> list[str]:
    """The command line of `app` ('connector' or 'bare') under `server`."""
    if server == "uvicorn":
        if app == "connector":
            return [sys.executable, "-m", "connector", "serve", "--host", LOCALHOST,
                    "--port", str(port), "--workers", str(workers)]  # fmt: skip
        return [sys.executable, "-m", "bench.serve_bare", "--port", str(port),
                "--workers", str(workers)]  # fmt: skip
    granian = str(Path(sys.executable).with_name("granian"))
    target = CONNECTOR_FACTORY if app == "connector" else "bench.bare_app:app"
    factory = ["--factory"] if app == "connector" else []
    return [granian, "--interface", "asgi", "--host", LOCALHOST, "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--no-ws", "--log-level", "warning",
            *factory, target]  # fmt: skip


@contextmanager
def serving(
    app: str, server: str, environment: dict[str, str], *, workers: int = 1, log_dir: Path
) -> Iterator[Running]:
    """Start, wait until GET /health/ready (connector) or GET /connection (bare) answers, stop."""
    port = _free_port()
    log = log_dir / f"{app}-{server}-{workers}.log"
    env = {**environment, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our interpreter or granian, fixed arguments
            command(app, server, port, workers),
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{LOCALHOST}:{port}"
    probe = f"{url}/health/ready" if app == "connector" else f"{url}/connection"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} under {server} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(probe, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} under {server} not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Running(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(20)


def rss_bytes(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of `pid`, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def reset_peak_rss(pid: int) -> None:
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def environment_without_secrets_of_this_shell() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "AWS_"))}
