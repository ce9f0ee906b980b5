"""`python -m bench.run --quick` end to end: every section of RESULTS.md is written, and the
counted figures hold (round trips, upstream calls, failures). Timings are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "## GET /connection vs a bare Litestar handler",
    "## GET /s3/buckets vs boto3 alone",
    "## Round trips per warm request",
    "## Upstream calls per user over a simulated hour",
    "PUT and GET through `connector serve`",
    "## Stored connections on PostgreSQL",
    "## Servers and workers",
    "## CLI start",
    "## Profile of the warm GET /connection",
)


def test_the_quick_bench_writes_every_section_and_its_counts_hold(tmp_path: Path) -> None:
    output, raw = tmp_path / "RESULTS.md", tmp_path / "results.json"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--output",
            str(output),
            "--json",
            str(raw),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = output.read_text()
    for section in SECTIONS:
        assert section in report, section
    assert "- Command: `uv run python -m bench.run --quick`" in report
    assert "- Load generator: `" in report
    results: dict[str, Any] = json.loads(raw.read_text())["results"]

    warm = results["round_trips"]
    assert warm["/connection"] == {"requests": 10, "sql": 0, "redis": 0, "aws": 0}
    assert warm["/s3/buckets"] == {"requests": 10, "sql": 0, "redis": 0, "aws": 1}

    hour = results["simulated_hour"]
    for case in ("cache up", "cache down"):
        assert hour[case]["failures"] == 0
        assert hour[case]["s3_calls"] == hour[case]["requests"]
    # Redis down costs no stream of extra mints: the process layer holds the credentials.
    up, down = (hour[case]["cognito_identity_calls"] for case in ("cache up", "cache down"))
    assert 0 < down <= max(up + 2, up * 1.1)

    for point in ("c=1", "c=10", "c=64"):
        for side in ("bare", "connector"):
            assert results["overhead"][point][side]["requests"] > 0
    assert set(results["servers"]) == {
        f"{app} {server} x{workers}"
        for app, server in (("connector", "uvicorn"), ("connector", "granian"), ("bare", "uvicorn"))
        for workers in (1, 2)
    }
    assert results["transfer"]["put"]["rss_growth_mib"] >= 0
    assert len(results["store_scale"]) == 2
    assert "connector" in results["profile"]
