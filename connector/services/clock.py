"""The real clock; tests inject their own Clock."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Timezone-aware UTC now, at microsecond precision."""

    def now(self) -> datetime:
        return datetime.now(UTC)
