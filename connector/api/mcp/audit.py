"""One audit event per tool call, on the `connector.audit` logger (who, for whom, what, how)."""

from __future__ import annotations

import logging

from connector.services.agents import Agent

audit_log = logging.getLogger("connector.audit")


def audit_tool_call(
    agent: Agent, tool: str, resource: str | None, outcome: str, *, provider: str
) -> None:
    """Record a tool call: the key, the user, the provider, the tool, the resource (bucket/key
    or function) and the outcome (`ok` or the error code). Never an argument's value or a
    payload."""
    fields = {
        "event": "mcp.tool_call",
        "mode": agent.mode,
        "keyId": agent.key.id,
        "userId": agent.user_id,
        "provider": provider,
        "tool": tool,
        "resource": resource,
        "outcome": outcome,
    }
    audit_log.info(
        "mcp tool call key=%s user=%s provider=%s tool=%s resource=%s outcome=%s",
        agent.key.id,
        agent.user_id,
        provider,
        tool,
        resource,
        outcome,
        extra={"audit": fields},
    )
