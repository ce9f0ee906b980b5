"""The AWS CLI, run as a process of its own from its own locked environment (tests/tools/awscli):
awscli pins rsa<4.8, which the connector's lock must not inherit (python-jose depends on rsa)."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from support.deploy_tools import uv

PROJECT = Path(__file__).resolve().parents[1] / "tools" / "awscli"


@functools.cache
def aws_cli_python() -> str:
    """The interpreter of the AWS CLI's environment (made on first use; `python -m awscli`)."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT"}}
    subprocess.run(  # noqa: S603 - uv on this repository's own project
        [uv(), "sync", "--quiet", "--locked", "--project", str(PROJECT)],
        env=env,
        check=True,
        timeout=600,
    )
    return str(PROJECT / ".venv" / "bin" / "python")
