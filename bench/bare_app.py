"""The baseline: a bare Litestar handler answering GET /connection with the very envelope the
connector answers (taken from the connector in the same run, passed in BENCH_ENVELOPE), served
by the same server with the same options. No guard, no dependency, no middleware, no state."""

from __future__ import annotations

import json
import os
from typing import Any

from litestar import Litestar, get

ENVELOPE: dict[str, Any] = json.loads(os.environ.get("BENCH_ENVELOPE", '{"success": true}'))


@get("/connection", sync_to_thread=False)
def connection() -> dict[str, Any]:
    return ENVELOPE


app = Litestar([connection], logging_config=None, debug=False)
