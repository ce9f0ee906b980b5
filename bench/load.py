"""Load generation against a server on 127.0.0.1: `wrk` when installed (bench.run installs it with
apt-get when it can), else a keep-alive HTTP/1.1 load generator in asyncio. Both report the
same figures: requests per second and latency percentiles over a fixed request count."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors:.*")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    rate: float
    """Requests per second."""
    p50: float
    p99: float
    """Seconds."""


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def ensure_wrk() -> str:
    """'wrk' when it is (or can be made) available, else 'python' (the asyncio generator)."""
    if has_wrk():
        return "wrk"
    if shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],  # noqa: S607
            capture_output=True,
            check=False,
            timeout=300,
        )
    return "wrk" if has_wrk() else "python"


def run_load(
    tool: str, url: str, headers: dict[str, str], *, connections: int, seconds: float
) -> LoadResult:
    if tool == "wrk":
        return _wrk(url, headers, connections=connections, seconds=seconds)
    return asyncio.run(_python_load(url, headers, connections=connections, seconds=seconds))


def _wrk(url: str, headers: dict[str, str], *, connections: int, seconds: float) -> LoadResult:
    command = ["wrk", "--latency", "-t", str(min(connections, 2)), "-c", str(connections)]
    command += ["-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(  # noqa: S603 - wrk, arguments built here
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    out = done.stdout
    if (bad := _NON_2XX.search(out)) or _ERRORS.search(out):
        raise RuntimeError(f"wrk saw failures ({bad.group(0) if bad else 'socket errors'}):\n{out}")
    percentiles = {m[0]: float(m[1]) * _UNITS[m[2]] for m in _PERCENTILE.findall(out)}
    rate, requests = _RATE.search(out), _REQUESTS.search(out)
    if rate is None or requests is None or "50" not in percentiles:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return LoadResult(
        requests=int(requests.group(1)),
        rate=float(rate.group(1)),
        p50=percentiles["50"],
        p99=percentiles["99"],
    )


async def _python_load(
    url: str, headers: dict[str, str], *, connections: int, seconds: float
) -> LoadResult:
    """`connections` keep-alive connections sending GETs back to back for `seconds`."""
    parts = urlsplit(url)
    head = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                if b" 200 " not in status_line:
                    raise RuntimeError(f"unexpected answer: {status_line!r}")
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                samples.append(time.perf_counter() - start)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(samples)
    return LoadResult(
        requests=len(samples),
        rate=len(samples) / elapsed,
        p50=statistics.median(ordered),
        p99=ordered[max(0, int(len(ordered) * 0.99) - 1)],
    )
