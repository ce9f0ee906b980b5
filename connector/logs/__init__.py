"""Logging: the request context every line carries, redaction, JSON or console output, audit."""
