"""The caller's trace context on every request (W3C `traceparent`), when the calling process
uses OpenTelemetry; nothing otherwise (the client needs no OpenTelemetry to run)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, MutableMapping
from typing import Any

_inject: Callable[[MutableMapping[str, str]], None] | None = None
_looked = False


def propagate(headers: MutableMapping[str, str]) -> None:
    """Add the current trace context's headers (`traceparent`, `tracestate`) to `headers`."""
    global _inject, _looked  # noqa: PLW0603 - looked up once per process
    if not _looked:
        _looked = True
        try:
            module: Any = importlib.import_module("opentelemetry.propagate")
        except ImportError:
            module = None
        _inject = module.inject if module is not None else None
    if _inject is not None:
        _inject(headers)
