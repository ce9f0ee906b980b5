"""The connector's benchmark: every figure of issue 11 measured side by side in one run, each
with its baseline from the same run, written to bench/RESULTS.md.

    uv run python -m bench.run            # the full run (~15 min on 2 shared cores)
    uv run python -m bench.run --quick    # every figure, small counts (~2 min; CI runs it)

Needs the local PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) that scripts/services
starts; the run uses a database and a key prefix of its own and removes them afterwards.
Load comes from `wrk` (installed with apt-get when missing), else from an asyncio load
generator in this process; RESULTS.md says which. Servers are separate processes on free
ports; moto runs in a process of its own. Timings are figures, never assertions: the quick
mode's test (tests/bench) checks counts and the shape of the results only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bench import inprocess
from bench.load import LoadResult, ensure_wrk, run_load
from bench.seeding import UNREACHED_LIMITS
from bench.servers import reset_peak_rss, rss_bytes, serving
from connector.bootstrap import build_container
from connector.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.moto_process import moto_server_process
from support.serve_processes import own_database, own_prefix

HERE = Path(__file__).resolve().parent
MIB = 1 << 20
TRANSFER_AWS_TIMEOUT = 300


@dataclass(frozen=True)
class Plan:
    """How much of everything: the quick mode keeps every figure, with small counts."""

    seconds: float
    """Length of one load point."""
    repeats: int
    concurrency: tuple[int, ...]
    s3_samples: int
    transfer_mib: int
    store_sizes: tuple[int, ...]
    store_reads: int
    hour_seconds: int
    hour_every: int
    warm_requests: int
    profile_requests: int
    cli_runs: int


FULL = Plan(5, 3, (1, 10, 64), 300, 1024, (1_000, 100_000), 300, 3600, 10, 50, 3000, 5)
QUICK = Plan(1, 1, (1, 10, 64), 30, 16, (100, 1_000), 30, 600, 30, 10, 300, 2)


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
    }


def environment(database_url: str, prefix: str, moto_url: str) -> dict[str, str]:
    """What every connector process (and the in-process container) is configured with. Cognito
    points at a closed port: nothing measured here calls it (alice's credentials are cached)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "AWS_"))}
    return {
        **inherited,
        "CONNECTOR_DATABASE_URL": database_url,
        "CONNECTOR_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CONNECTOR_REDIS_PREFIX": prefix,
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CONNECTOR_AUTO_MIGRATE": "true",
        "CONNECTOR_LOG_LEVEL": "WARNING",
        # Every request is counted (that Redis call is part of what is measured), none refused.
        **UNREACHED_LIMITS,
        "AWS_COGNITO_DOMAIN": "http://127.0.0.1:9",
        "AWS_COGNITO_CLIENT_ID": "bench",
        "AWS_REGION": inprocess.REGION,
        "AWS_COGNITO_USER_POOL_ID": f"{inprocess.REGION}_bench",
        "AWS_COGNITO_IDENTITY_POOL_ID": f"{inprocess.REGION}:00000000-0000-0000-0000-000000000000",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": inprocess.REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def _seed(settings: Settings) -> dict[str, str]:
    container = await build_container(settings)
    try:
        return await inprocess.seed(container)
    finally:
        await container.close()


def _median_load(results: list[LoadResult]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(r.p50 for r in results) * 1e3,
        "p99_ms": statistics.median(r.p99 for r in results) * 1e3,
        "rate": statistics.median(r.rate for r in results),
        "requests": sum(r.requests for r in results),
    }


def side_by_side(
    tool: str, urls: dict[str, str], path: str, headers: dict[str, str], plan: Plan, *, c: int
) -> dict[str, dict[str, float]]:
    """Each server in turn (A/B alternating), `plan.repeats` times, at `c` connections."""
    runs: dict[str, list[LoadResult]] = {name: [] for name in urls}
    for _ in range(plan.repeats):
        for name, url in urls.items():
            runs[name].append(
                run_load(tool, url + path, headers, connections=c, seconds=plan.seconds)
            )
    return {name: _median_load(results) for name, results in runs.items()}


def overhead(
    tool: str, env: dict[str, str], headers: dict[str, str], plan: Plan, logs: Path
) -> dict[str, Any]:
    """GET /connection: the connector vs the bare handler, both under `connector serve`'s
    uvicorn set-up, one worker each, at each concurrency."""
    figures: dict[str, Any] = {}
    with serving("connector", "uvicorn", env, log_dir=logs) as connector:
        envelope = httpx.get(f"{connector.url}/connection", headers=headers, timeout=10)
        assert envelope.status_code == 200, envelope.text
        figures["envelope_bytes"] = len(envelope.content)
        bare_env = {**env, "BENCH_ENVELOPE": envelope.text}
        with serving("bare", "uvicorn", bare_env, log_dir=logs) as bare:
            urls = {"bare": bare.url, "connector": connector.url}
            for c in plan.concurrency:
                figures[f"c={c}"] = side_by_side(tool, urls, "/connection", headers, plan, c=c)
    return figures


def servers_and_workers(
    tool: str, env: dict[str, str], headers: dict[str, str], plan: Plan, logs: Path
) -> dict[str, Any]:
    """The connector under uvicorn (httptools, uvloop: `connector serve`) and granian, 1 and 2
    workers; the bare app at 1 and 2 workers shows what the machine itself allows. All run at
    once and take turns at each point (A/B/...), so a change in the machine's load between
    minutes falls on every configuration alike."""
    top = max(plan.concurrency)
    configurations = [
        (app, server, workers)
        for app, server in (("connector", "uvicorn"), ("connector", "granian"), ("bare", "uvicorn"))
        for workers in (1, 2)
    ]
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        bare_env = env
        for app, server, workers in configurations:
            if app == "bare" and bare_env is env:  # the connector's own envelope, as above
                answer = httpx.get(f"{next(iter(urls.values()))}/connection", headers=headers)
                bare_env = {**env, "BENCH_ENVELOPE": answer.text}
            running = serving(
                app, server, env if app == "connector" else bare_env, workers=workers, log_dir=logs
            )
            urls[f"{app} {server} x{workers}"] = stack.enter_context(running).url
        one = side_by_side(tool, urls, "/connection", headers, plan, c=1)
        many = side_by_side(tool, urls, "/connection", headers, plan, c=top)
    return {name: {"c=1": one[name], f"c={top}": many[name]} for name in urls}


def s3_list(
    tool: str, env: dict[str, str], headers: dict[str, str], plan: Plan, logs: Path
) -> dict[str, Any]:
    """GET /s3/buckets (c=1) vs boto3's ListBuckets alone, on the same moto endpoint."""
    direct = inprocess.moto_client("s3", env["AWS_ENDPOINT_URL"])
    for _ in range(10):
        direct.list_buckets()
    samples = []
    for _ in range(plan.s3_samples):
        start = time.perf_counter()
        direct.list_buckets()
        samples.append(time.perf_counter() - start)
    with serving("connector", "uvicorn", env, log_dir=logs) as connector:
        warm = httpx.get(f"{connector.url}/s3/buckets", headers=headers, timeout=30)
        assert warm.status_code == 200, warm.text
        through = side_by_side(
            tool, {"connector": connector.url}, "/s3/buckets", headers, plan, c=1
        )["connector"]
    return {"boto3_p50_ms": statistics.median(samples) * 1e3, "connector": through}


def _chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    block = os.urandom(size)
    for _ in range(total // size):
        yield block


def transfer(
    env: dict[str, str], headers: dict[str, str], plan: Plan, logs: Path
) -> dict[str, Any]:
    """PUT then GET of `plan.transfer_mib` MiB through `connector serve`: the server's peak RSS
    growth over its RSS before each transfer, and the throughput."""
    total = plan.transfer_mib * MIB
    path = f"/s3/buckets/{inprocess.BUCKET}/objects/big"
    figures: dict[str, Any] = {"mib": plan.transfer_mib, "aws_timeout_s": TRANSFER_AWS_TIMEOUT}
    # moto assembles a completed multipart upload in one request: 1 GiB takes longer than the
    # 10 s default deadline of one AWS call on this machine (the RSS figure is the point here).
    env = {**env, "CONNECTOR_AWS_TIMEOUT": str(TRANSFER_AWS_TIMEOUT)}
    with (
        serving("connector", "uvicorn", env, log_dir=logs) as connector,
        httpx.Client(base_url=connector.url, headers=headers, timeout=600) as client,
    ):
        before, _ = rss_bytes(connector.pid)
        reset_peak_rss(connector.pid)
        start = time.perf_counter()
        put = client.put(path, content=_chunks(total), headers={"Content-Length": str(total)})
        seconds = time.perf_counter() - start
        assert put.status_code == 200, put.text
        _, peak = rss_bytes(connector.pid)
        figures["put"] = {"seconds": seconds, "rss_growth_mib": (peak - before) / MIB}
        before, _ = rss_bytes(connector.pid)
        reset_peak_rss(connector.pid)
        start, received = time.perf_counter(), 0
        with client.stream("GET", path) as got:
            assert got.status_code == 200
            for piece in got.iter_bytes(MIB):
                received += len(piece)
        seconds = time.perf_counter() - start
        _, peak = rss_bytes(connector.pid)
        assert received == total, (received, total)
        figures["get"] = {"seconds": seconds, "rss_growth_mib": (peak - before) / MIB}
    return figures


def cli_start(plan: Plan) -> dict[str, float]:
    """`connector --help` against a bare interpreter (`python -c pass`), fresh processes."""
    connector = str(Path(sys.executable).with_name("connector"))

    def timed(command: list[str]) -> float:
        samples = []
        for _ in range(plan.cli_runs):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, timeout=120)  # noqa: S603
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    return {
        "connector_help_s": timed([connector, "--help"]),
        "python_bare_s": timed([sys.executable, "-c", "pass"]),
    }


@contextmanager
def bucket(moto_url: str) -> Iterator[None]:
    inprocess.moto_client("s3", moto_url).create_bucket(Bucket=inprocess.BUCKET)
    yield


def measure(
    plan: Plan, tool: str, only: set[str] | None, checkpoint: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "load_tool": tool, "plan": asdict(plan)}

    def wanted(name: str) -> bool:
        return only is None or name in only

    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        database_url = stack.enter_context(own_database())
        prefix = stack.enter_context(own_prefix())
        moto_url = stack.enter_context(moto_server_process())
        stack.enter_context(bucket(moto_url))
        env = environment(database_url, prefix, moto_url)
        # The in-process figures' boto3 reads its endpoint and dummy keys from os.environ.
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        settings = Settings.from_env(env)
        headers = inprocess.run_async(_seed(settings))
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("round_trips", lambda: inprocess.run_async(
                inprocess.round_trips(settings, headers, plan.warm_requests))),
            ("overhead", lambda: overhead(tool, env, headers, plan, logs)),
            ("s3_list", lambda: s3_list(tool, env, headers, plan, logs)),
            ("servers", lambda: servers_and_workers(tool, env, headers, plan, logs)),
            ("simulated_hour", lambda: inprocess.run_async(inprocess.simulated_hour(
                moto_url, seconds=plan.hour_seconds, every=plan.hour_every))),
            ("transfer", lambda: transfer(env, headers, plan, logs)),
            ("cli_start", lambda: cli_start(plan)),
            ("profile", lambda: inprocess.run_async(
                inprocess.profile(settings, headers, plan.profile_requests))),
            ("store_scale", lambda: inprocess.run_async(
                inprocess.store_scale(settings, plan.store_sizes, plan.store_reads))),
        ]  # fmt: skip
        for name, step in steps:
            if wanted(name):
                started = time.monotonic()
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                results[name] = step()
                checkpoint(results)
                print(
                    f"bench: {name} done in {time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    results["machine"]["load_after"] = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="every figure, small counts")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures")
    parser.add_argument("--only", action="append", default=None, help="one step (repeatable)")
    parser.add_argument(
        "--load-tool", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="measure nothing: render RESULTS.md again from a run saved with --json",
    )
    parser.add_argument(
        "--update",
        type=Path,
        default=None,
        help="measure the --only steps again into a run saved with --json (a quieter machine)",
    )
    args = parser.parse_args(argv)
    from bench.report import render  # noqa: PLC0415

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        args.output.write_text(render(saved["results"], saved["command"]))
        return 0
    plan = QUICK if args.quick else FULL
    tool = ensure_wrk() if args.load_tool == "auto" else args.load_tool
    command = "uv run python -m bench.run" + (" --quick" if args.quick else "")

    earlier: dict[str, Any] = {}
    if args.update:
        saved = json.loads(args.update.read_text())
        command, earlier = saved["command"], saved["results"]

    def save(results: dict[str, Any]) -> None:
        """The raw figures so far (a run cut short keeps what it measured)."""
        if args.json:
            saved = {"command": command, "results": {**earlier, **results}}
            args.json.write_text(json.dumps(saved, indent=2, default=str))

    results = measure(plan, tool, set(args.only) if args.only else None, save)
    save(results)
    args.output.write_text(render({**earlier, **results}, command))
    print(f"bench: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
