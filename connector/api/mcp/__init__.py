"""The MCP endpoint (`/mcp`, Streamable HTTP on the official MCP SDK): S3 and Lambda tools for
AI agents, acting as the user within the calling key's scopes and policy."""
