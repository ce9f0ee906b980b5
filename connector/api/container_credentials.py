"""The AWS SDKs' container-credentials protocol: any SDK, in any language, acts as the user.

`AWS_CONTAINER_CREDENTIALS_FULL_URI=<connector>/container-credentials/<userId>` and
`AWS_CONTAINER_AUTHORIZATION_TOKEN=<API key>`: the SDK sends the token verbatim in
`Authorization` and parses `{AccessKeyId, SecretAccessKey, Token, Expiration}`. Failures are the
usual envelopes, whose message the SDK's own error then shows.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from connector.api.dependencies import (
    CALLER,
    OAUTH,
    PROVIDER_NAME,
    REQUESTED_PROVIDER,
    Caller,
    OAuthDep,
)
from connector.api.guards import request_state, requires, services_of
from connector.api.parameters import UserIdPath
from connector.api.responses import as_user_responses
from connector.domain.aws import AwsCredentials
from connector.domain.identifiers import parse_user_id
from connector.domain.models import Scope
from connector.logs import context


class ContainerCredentials(msgspec.Struct, rename="pascal", kw_only=True):
    """The SDKs' shape (botocore, the AWS SDKs for Java, JavaScript, Go, Rust...)."""

    access_key_id: str
    secret_access_key: str
    token: str
    expiration: str
    """ISO-8601 UTC, seconds precision, ending in Z."""

    @classmethod
    def of(cls, credentials: AwsCredentials) -> ContainerCredentials:
        expiration = credentials.expiration.astimezone(UTC).replace(microsecond=0)
        return cls(
            access_key_id=credentials.access_key_id,
            secret_access_key=credentials.secret_access_key,
            token=credentials.session_token,
            expiration=expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


async def sdk_authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """The API key as the SDKs send it: the whole `Authorization` header (a `Bearer ` prefix
    is accepted too); then the user named by the path, validated like X-User-Id."""
    presented = connection.headers.get("authorization", "").strip()
    scheme, _space, rest = presented.partition(" ")
    key = rest.strip() if scheme.lower() == "bearer" else presented
    api_key = await services_of(connection).api_keys.authenticate(key or None)
    user_id = parse_user_id(connection.path_params.get("user_id"))
    request_state(connection).update(api_key=api_key, user_id=user_id)
    if (request := context.current()) is not None:  # the request's log lines and audit event
        request.key_id, request.key_name, request.user_id = api_key.id, api_key.name, user_id


class ContainerCredentialsController(Controller):
    path = "/container-credentials"
    tags = ["connection"]
    guards = [sdk_authenticated, requires(Scope.CREDENTIALS_READ)]
    # The user is the path's; the provider is the query's, as on every route acting for a user.
    dependencies = {
        "caller": CALLER,
        "requested_provider": REQUESTED_PROVIDER,
        "provider_name": PROVIDER_NAME,
        "oauth": OAUTH,
    }

    @get(
        "/{user_id:str}",
        operation_id="getContainerCredentials",
        responses=as_user_responses(),
        # The SDKs re-read these when they near expiry; nothing may cache them on the way.
        cache_control=None,
    )
    async def get_container_credentials(
        self,
        caller: Caller,
        oauth: OAuthDep,
        user_id: UserIdPath,
    ) -> ContainerCredentials:
        """The user's temporary AWS credentials in the AWS SDKs' container-credentials format
        (`Authorization: <API key>`, scope `credentials:read`), narrowed like /credentials for a
        restricted key. Point an SDK at it with `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
        `AWS_CONTAINER_AUTHORIZATION_TOKEN`."""
        credentials = await oauth.credentials.get_credentials(
            parse_user_id(user_id), key=caller, vended=True
        )
        return ContainerCredentials.of(credentials)
