"""`python -m bench.serve_bare --port P --workers N`: the bare app under uvicorn with the options
`connector serve` gives uvicorn (same loop, parser, access log), so only the app differs."""

from __future__ import annotations

import argparse

import uvicorn

from connector.access_log import uvicorn_log_config

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.bare_app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        server_header=False,
        log_config=uvicorn_log_config(),
    )
