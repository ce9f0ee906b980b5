"""Running one AWS call as a user: their credentials, and one re-mint when AWS says they expired."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from connector.domain.aws import AwsCredentials
from connector.domain.models import ApiKey
from connector.errors import ExpiredCredentialsError, UpstreamUnavailableError
from connector.services.credentials import CredentialService

T = TypeVar("T")
log = logging.getLogger(__name__)
RETRY_AFTER = 2


class ActingAsUser:
    """`call(key, user, fn)` runs `fn(credentials)` with the user's credentials for that key
    (narrowed by its session policy when it is restricted); when AWS answers that they expired
    (revoked early, or a clock far off), it re-mints once and runs `fn` again.

    Credentials are never handed out in their mandatory window, so the retry is rare: when
    the fresh ones are refused as well, the failure is UPSTREAM_UNAVAILABLE, not an error of
    ours (a machine clock far off is the usual cause).
    """

    def __init__(self, credentials: CredentialService) -> None:
        self._credentials = credentials

    async def call(
        self,
        key: ApiKey,
        user_id: str,
        fn: Callable[[AwsCredentials], Awaitable[T]],
        *,
        can_retry: Callable[[], bool] = lambda: True,
        valid_for: timedelta | None = None,
    ) -> T:
        """`can_retry` says, after a failure, whether `fn` may run again (a streamed body that
        was consumed cannot be sent twice); `valid_for`, how long the credentials should last
        (see CredentialService.get_credentials)."""
        try:
            credentials = await self._credentials.get_credentials(
                user_id, key=key, valid_for=valid_for
            )
            return await fn(credentials)
        except ExpiredCredentialsError as expired:
            renewed = await self._credentials.get_credentials(user_id, key=key, force=True)
            if not can_retry():
                # The next request gets the new credentials; this one cannot be replayed.
                raise _gave_up(expired, "the request cannot be replayed; send it again") from None
            log.info("AWS refused %r's credentials as expired; retrying with new ones", user_id)
        try:
            return await fn(renewed)
        except ExpiredCredentialsError as expired:
            raise _gave_up(expired, "check the clocks of the connector and AWS") from None


def _gave_up(expired: ExpiredCredentialsError, hint: str) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        f"AWS refused the user's credentials as expired: {hint}",
        retry_after=RETRY_AFTER,
        details=expired.details,
    )
