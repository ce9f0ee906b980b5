"""When to refresh something that expires (tokens, AWS credentials): botocore's two windows.

In the advisory window (last quarter of the lifetime, capped) a caller is served what is cached
and one background refresh starts; in the mandatory window (last sixth, capped) callers wait for
one refresh. Both caps come from configuration.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from connector.settings import FreshnessSettings


class Phase(Enum):
    FRESH = "fresh"
    ADVISORY = "advisory"
    MANDATORY = "mandatory"


def phase_of(
    now: datetime, issued_at: datetime, expires_at: datetime, windows: FreshnessSettings
) -> Phase:
    """Which window `now` falls in for something valid from `issued_at` to `expires_at`."""
    lifetime = max(expires_at - issued_at, timedelta(0))
    mandatory = min(lifetime / 6, timedelta(seconds=windows.mandatory_cap_seconds))
    advisory = min(lifetime / 4, timedelta(seconds=windows.advisory_cap_seconds))
    left = expires_at - now
    if left <= mandatory:
        return Phase.MANDATORY
    if left <= advisory:
        return Phase.ADVISORY
    return Phase.FRESH
