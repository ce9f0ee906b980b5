"""The Litestar app serving one HostedUi: Cognito's OAuth2 endpoints, JWKS and login page."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict, MultiDict
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.response import Redirect

from connector.sandbox.hosted_ui import grants, revocation, userinfo
from connector.sandbox.hosted_ui.authorize import (
    AuthorizeRequest,
    Params,
    RedirectableError,
    UnredirectableError,
    parse_authorize,
    redirect_with,
)
from connector.sandbox.hosted_ui.discovery import openid_configuration
from connector.sandbox.hosted_ui.errors import OAuthError
from connector.sandbox.hosted_ui.faults import Endpoint
from connector.sandbox.hosted_ui.hosted_ui import HostedUi
from connector.sandbox.hosted_ui.pages import PAGE_HEADERS, error_page, login_page

AnyRequest = Request[Any, Any, Any]
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LOGIN_FAILED = "Incorrect username or password."
CANCELLED = "The user cancelled the sign-in."


def _params(values: MultiDict[Any] | FormMultiDict) -> Params:
    return {name: [str(v) for v in values.getall(name)] for name in dict.fromkeys(values.keys())}


def _html(content: str, status: int = 200) -> Response[str]:
    return Response(content, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def _oauth_error(error: OAuthError) -> Response[Any]:
    headers = dict(_NO_STORE)
    if error.error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="cognito"'
    elif error.status == 401 or error.error == "invalid_request":
        headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return _json(error.body(), error.status, headers)


def _injected(hosted_ui: HostedUi, endpoint: Endpoint) -> Response[Any] | None:
    failure = hosted_ui.faults.take(endpoint)
    if failure is None:
        return None
    hosted_ui.stats.injected_failures += 1
    if failure.error is not None:
        return _json({"error": failure.error}, failure.status)
    return Response("Service Unavailable", status_code=failure.status, media_type=MediaType.TEXT)


async def _form(request: AnyRequest) -> Params:
    if request.content_type[0] != _FORM:
        raise OAuthError("invalid_request", f"Content-Type must be {_FORM}.")
    return _params(await request.form())


def _validate(hosted_ui: HostedUi, params: Params) -> AuthorizeRequest | Response[Any]:
    try:
        return parse_authorize(hosted_ui.config, params)
    except UnredirectableError as exc:
        return _html(error_page(exc.error, exc.message), 400)
    except RedirectableError as exc:
        return Redirect(exc.location, status_code=302)


@get("/oauth2/authorize", sync_to_thread=False)
def authorize(request: AnyRequest, hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """Validate the request and show the sign-in form, or send the error where Cognito would."""
    params = _params(request.query_params)
    hosted_ui.stats.authorize += 1
    hosted_ui.stats.pkce_methods[(params.get("code_challenge_method") or ["none"])[0]] += 1
    valid = _validate(hosted_ui, params)
    return valid if isinstance(valid, Response) else _html(login_page(valid.hidden_fields()))


def _cancelled(request: AuthorizeRequest) -> dict[str, str | None]:
    """What Cognito appends when the user declines: RFC 6749's `access_denied`, a description
    (free text, never to be parsed), and the state."""
    return {
        "error_description": CANCELLED,
        "error": "access_denied",
        "state": request.state,
    }


@post("/login", status_code=200)
async def login(request: AnyRequest, hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """Check the credentials; on success 302 to the callback with a one-time code and the state.
    Cancel: 302 to the callback with `error=access_denied` and the state, as Cognito does."""
    hosted_ui.stats.login_attempts += 1
    form = _params(await request.form())
    valid = _validate(hosted_ui, form)
    if isinstance(valid, Response):
        return valid
    if form.get("cancel"):
        hosted_ui.stats.login_cancels += 1
        return Redirect(redirect_with(valid.redirect_uri, _cancelled(valid)), status_code=302)
    username, password = (form.get("username") or [""])[0], (form.get("password") or [""])[0]
    user = await hosted_ui.directory.authenticate(username, password) if username else None
    if user is None:
        hosted_ui.stats.login_failures += 1
        return _html(login_page(valid.hidden_fields(), message=LOGIN_FAILED, username=username))
    code = hosted_ui.issue_code(valid, user)
    return Redirect(
        redirect_with(valid.redirect_uri, {"code": code, "state": valid.state}), status_code=302
    )


@post("/oauth2/token", status_code=200)
async def token(request: AnyRequest, hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """Exchange a code or a refresh token for tokens (JSON), or answer an OAuth error."""
    hosted_ui.stats.token_requests += 1
    try:
        form = await _form(request)
        grants.count_grant_type(hosted_ui, form)
        if (failure := _injected(hosted_ui, "token")) is not None:
            return failure
        body = await grants.token(hosted_ui, form, request.headers.get("Authorization"))
    except OAuthError as exc:
        hosted_ui.stats.token_errors += 1
        return _oauth_error(exc)
    return _json(body, headers=_NO_STORE)


@post("/oauth2/revoke", status_code=200)
async def revoke(request: AnyRequest, hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """Revoke a refresh token and the access tokens issued from it; 200 with an empty body."""
    hosted_ui.stats.revocations += 1
    if (failure := _injected(hosted_ui, "revoke")) is not None:
        return failure
    try:
        await revocation.revoke(
            hosted_ui, await _form(request), request.headers.get("Authorization")
        )
    except OAuthError as exc:
        return _oauth_error(exc)
    return Response(b"", status_code=200, media_type=MediaType.TEXT, headers=_NO_STORE)


@get("/oauth2/userInfo")
async def user_info(request: AnyRequest, hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """The signed-in user's attributes for a valid access token (Authorization: Bearer)."""
    hosted_ui.stats.userinfo += 1
    if (failure := _injected(hosted_ui, "userinfo")) is not None:
        return failure
    try:
        return _json(await userinfo.userinfo(hosted_ui, request.headers.get("Authorization")))
    except OAuthError as exc:
        return _oauth_error(exc)


@get("/.well-known/jwks.json", sync_to_thread=False)
def jwks(hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """The pool's public signing keys."""
    hosted_ui.stats.jwks += 1
    return _injected(hosted_ui, "jwks") or _json(hosted_ui.keys.jwks())


@get("/.well-known/openid-configuration", sync_to_thread=False)
def discovery(hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """OpenID Connect discovery for the pool's issuer."""
    hosted_ui.stats.openid_configuration += 1
    return _json(openid_configuration(hosted_ui.config))


@get("/_sandbox/stats", sync_to_thread=False)
def sandbox_stats(hosted_ui: NamedDependency[HostedUi]) -> Response[Any]:
    """Test hook: the request counters."""
    return _json(hosted_ui.stats.as_dict())


def create_hosted_ui_app(hosted_ui: HostedUi) -> Litestar:
    """A Litestar app serving `hosted_ui` at the root of `config.issuer_base_url`."""

    def provide_hosted_ui() -> HostedUi:
        return hosted_ui

    pool = Router(path=f"/{hosted_ui.config.user_pool_id}", route_handlers=[jwks, discovery])
    return Litestar(
        route_handlers=[authorize, login, token, revoke, user_info, sandbox_stats, pool],
        dependencies={"hosted_ui": Provide(provide_hosted_ui, sync_to_thread=False)},
        openapi_config=None,
        logging_config=None,  # the host process (tests, `connector dev`) configures logging
    )
