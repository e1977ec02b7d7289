"""HTTP mode: an ASGI app (Starlette) served by uvicorn.

Bolt's own Starlette adapter calls the synchronous `App.dispatch` on the event loop, which would
serialise every request; here dispatch runs in the thread pool so slow database moments on one
request never hold up the others.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.app import EVENTS_PATH
from bot.services import Services
from storage.db import ping

logger = logging.getLogger(__name__)


def build_asgi(app: App, services: Services) -> Starlette:
    """The HTTP surface of SPEC §2: Slack's request URL, OAuth install routes, health."""

    async def slack_events(request: Request) -> Response:
        bolt_request = to_bolt_request(request, await request.body())
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(request: Request) -> Response:
        answering = await run_in_threadpool(ping, services.engine)
        body = {"status": "ok" if answering else "error", "database": "ok" if answering else "unreachable"}
        return JSONResponse({**body, "version": __version__}, status_code=200 if answering else 503)

    routes = [
        Route(EVENTS_PATH, slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    flow = app.oauth_flow
    if flow is not None:

        async def install(request: Request) -> Response:
            bolt_request = to_bolt_request(request, await request.body())
            return to_starlette_response(await run_in_threadpool(flow.handle_installation, bolt_request))

        async def oauth_redirect(request: Request) -> Response:
            bolt_request = to_bolt_request(request, await request.body())
            return to_starlette_response(await run_in_threadpool(flow.handle_callback, bolt_request))

        routes += [
            Route(flow.install_path, install, methods=["GET"]),
            Route(flow.redirect_uri_path, oauth_redirect, methods=["GET"]),
        ]
    return Starlette(routes=routes)
