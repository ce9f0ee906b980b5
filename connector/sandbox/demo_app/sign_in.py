"""The reference integration: start a sign-in for the app's user, settle its return.

An app that integrates the connector needs these two handlers. The state check happens against
the app's own session, and the connector hears the app's word before anything is rendered.
"""

from __future__ import annotations

from litestar import get, post
from litestar.response import Redirect

from connector.sandbox.demo_app.config import Config
from connector.sandbox.demo_app.outcomes import NOT_STARTED_HERE, confirmed, returned_with_error
from connector.sandbox.demo_app.sessions import Notice
from connector.sandbox.demo_app.web import (
    AnyRequest,
    Connector,
    CurrentSession,
    back_home,
    checked_form,
    code_of,
)


@post("/connect")
async def connect(
    request: AnyRequest, session: CurrentSession, connector: Connector, config: Config
) -> Redirect:
    """Start a sign-in for the app's signed-in user and remember its `state` in this session."""
    form = await checked_form(request, session)
    if session.user is None:
        return back_home()
    params = {"redirect_uri": config.return_url}
    if form.get("provider"):  # one of several providers (absent: the connector's default)
        params["provider"] = form["provider"]
    answer = await connector.get("/connect", params=params, headers={"X-User-Id": session.user})
    if not answer.is_success:
        session.notice = Notice("error", "The connector refused to start.", code_of(answer))
        return back_home()
    flow = answer.json()["data"]
    session.start_flow(flow["state"])
    return Redirect(flow["authUrl"], status_code=303)


@get("/return")
async def back_from_sign_in(
    request: AnyRequest, session: CurrentSession, connector: Connector
) -> Redirect:
    """Where the connector sends the browser after Cognito. Nothing is rendered here: the
    outcome is settled with the connector first, then a 303 leaves a clean URL (no state or
    confirmation in the address bar, the history or a Referer)."""
    query = request.query_params
    started_here = session.finish_flow(query.get("state", ""))
    confirmation = query.get("confirmation")
    if confirmation is not None:  # status=pending: the connector waits for the app's word
        if started_here and session.user is not None:
            answer = await connector.post(
                "/connect/confirm",
                json={"confirmation": confirmation},
                headers={"X-User-Id": session.user},
            )
            session.notice = confirmed(answer)
        else:  # someone else's link, or a sign-in this session did not start: refuse it
            await connector.post("/connect/reject", json={"confirmation": confirmation})
            session.notice = NOT_STARTED_HERE
    elif query.get("status") == "connected":  # `claim:` and `none` bindings: already stored
        session.notice = Notice("connected", "Connected.")
    else:
        session.notice = returned_with_error(query.get("error"), query.get("reason"))
    return back_home()
