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
    provider: str | None = None,
) -> None:
    """`operation` (the REST operation id or JSON-RPC method) for `user_id` ended with `outcome`
    (OK or an error code); the request id, key and provider come from the request's context when
    not given (a JSON-RPC batch names each call's own provider)."""
    if not _audit.isEnabledFor(logging.INFO):
        return
    request = context.current()
    named = {"provider": provider} if provider is not None else {}
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
            **named,
        },
    )
