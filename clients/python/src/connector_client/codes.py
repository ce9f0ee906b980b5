"""The closed set of codes a connector answer may carry (`code` in the failure envelope).

The wire contract, kept here so that the client needs nothing of the server; the server's own
`connector.errors.ErrorCode` must name the same members (tests/client/test_client_distribution.py).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every code a response may carry. A public contract: never rename a member."""

    CONNECT_FAILED = "CONNECT_FAILED"
    CALLBACK_FAILED = "CALLBACK_FAILED"
    DISCONNECT_FAILED = "DISCONNECT_FAILED"
    GET_CONNECTION_FAILED = "GET_CONNECTION_FAILED"
    LIST_BUCKETS_FAILED = "LIST_BUCKETS_FAILED"
    LIST_OBJECTS_FAILED = "LIST_OBJECTS_FAILED"
    GET_OBJECT_FAILED = "GET_OBJECT_FAILED"
    PUT_OBJECT_FAILED = "PUT_OBJECT_FAILED"
    DELETE_OBJECT_FAILED = "DELETE_OBJECT_FAILED"
    LIST_FUNCTIONS_FAILED = "LIST_FUNCTIONS_FAILED"
    GET_FUNCTION_FAILED = "GET_FUNCTION_FAILED"
    INVOKE_LAMBDA_FAILED = "INVOKE_LAMBDA_FAILED"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    MISSING_USER_ID = "MISSING_USER_ID"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_STATE = "INVALID_STATE"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    NOT_CONNECTED = "NOT_CONNECTED"
    REAUTH_REQUIRED = "REAUTH_REQUIRED"
    ACCESS_DENIED = "ACCESS_DENIED"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
