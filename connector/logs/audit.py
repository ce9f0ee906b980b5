"""The audit trail: one event per operation acting for a user, on the `connector.audit` logger
(operators ship it separately). Names, ids and codes only: never a secret, a token or a body."""

from __future__ import annotations

import logging

from connector.logs import context

AUDIT_LOGGER = "connector.audit"
OK = "OK"
_audit = logging.getLogger(AUDIT_LOGGER)


def record(
    operation: str,
    *,
    user_id: str,
    outcome: str,
    resource: str | None = None,
    key_id: str | None = None,
    key_name: str | None = None,
) -> None:
    """`operation` (the REST operation id or JSON-RPC method) for `user_id` ended with `outcome`
    (OK or an error code); the request id and key come from the request's context when not given."""
    if not _audit.isEnabledFor(logging.INFO):
        return
    request = context.current()
    _audit.info(
        "%s for %s: %s",
        operation,
        user_id,
        outcome,
        extra={
            "event": "audit",
            "operation": operation,
            "user_id": user_id,
            "resource": resource,
            "outcome": outcome,
            "key_id": key_id or (request.key_id if request else None),
            "key_name": key_name or (request.key_name if request else None),
        },
    )
