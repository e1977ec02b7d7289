"""HTTP mode: an ASGI app (Starlette) served by uvicorn.

Bolt's own Starlette adapter calls the synchronous `App.dispatch` on the event loop, which would
serialise every request; here dispatch runs in the thread pool so slow database moments on one
request never hold up the others.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import threading
import time

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.runtime.app import EVENTS_PATH
from bot.runtime.requests import SlackRequest
from bot.services import Services
from bot.services.lists import atom
from storage.db import ping
from storage.lists import list_by_token, list_items
from storage.people import get_person

logger = logging.getLogger(__name__)


def to_bolt_request(request: Request, body: bytes) -> SlackRequest | None:
    """Bolt's request for an HTTP request; None for a body that is not one Slack sends: not UTF-8,
    not JSON where JSON is due, not an object, or an event callback without an event object."""
    try:
        bolt_request = SlackRequest(
            body=body.decode("utf-8"),
            query=request.query_params,  # type: ignore[arg-type]
            headers=request.headers,  # type: ignore[arg-type]
        )
    except (UnicodeDecodeError, ValueError, AttributeError, TypeError):  # Bolt reads only what Slack sends
        return None
    parsed = bolt_request.body
    if not isinstance(parsed, dict) or (
        parsed.get("type") == "event_callback" and not isinstance(parsed.get("event"), dict)
    ):
        return None
    return bolt_request


def _signed(body: bytes, timestamp: str, signature: str, secret: str) -> bool:
    """Slack's v0 signature over the raw bytes (any bytes), within five minutes."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={expected}", signature)


def bad_request(request: Request, body: bytes, signing_secret: str | None) -> Response:
    """401 for a request Slack did not sign (as Bolt answers it), else 400: never a 500 and a
    traceback for a client's mistake."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    if not signing_secret or not _signed(body, timestamp, request.headers.get("x-slack-signature", ""), signing_secret):
        return JSONResponse({"error": "invalid request"}, status_code=401)
    logger.info("refused a signed request whose body Slack would not send (%d bytes)", len(body))
    return Response("Bad request: not a body Slack sends.", status_code=400, media_type="text/plain")


def build_asgi(app: App, services: Services) -> Starlette:
    """The HTTP surface of SPEC §2: Slack's request URL, OAuth install routes, health."""

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_request = to_bolt_request(request, body)
        if bolt_request is None:
            return bad_request(request, body, services.settings.slack_signing_secret)
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(request: Request) -> Response:
        answering = await run_in_threadpool(ping, services.engine)
        body = {"status": "ok" if answering else "error", "database": "ok" if answering else "unreachable"}
        return JSONResponse({**body, "version": __version__}, status_code=200 if answering else 503)

    async def list_feed(request: Request) -> Response:
        document = await run_in_threadpool(_list_atom, services, request.path_params["token"])
        if document is None:
            return Response("No such feed.", status_code=404, media_type="text/plain")
        return Response(document, media_type="application/atom+xml; charset=utf-8")

    routes = [
        Route(EVENTS_PATH, slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/feeds/{token}.atom", list_feed, methods=["GET"]),
    ]
    flow = app.oauth_flow
    if flow is not None:

        async def install(request: Request) -> Response:
            bolt_request = to_bolt_request(request, await request.body())
            if bolt_request is None:
                return Response("Bad request.", status_code=400, media_type="text/plain")
            return to_starlette_response(await run_in_threadpool(flow.handle_installation, bolt_request))

        async def oauth_redirect(request: Request) -> Response:
            bolt_request = to_bolt_request(request, await request.body())
            if bolt_request is None:
                return Response("Bad request.", status_code=400, media_type="text/plain")
            return to_starlette_response(await run_in_threadpool(flow.handle_callback, bolt_request))

        routes += [
            Route(flow.install_path, install, methods=["GET"]),
            Route(flow.redirect_uri_path, oauth_redirect, methods=["GET"]),
        ]
    return Starlette(routes=routes)


def _list_atom(services: Services, token: str) -> bytes | None:
    with services.new_session() as session:
        curated = list_by_token(session=session, token=token)
        if curated is None:
            return None
        entries = list_items(session=session, curated=curated, limit=100)
        owner = get_person(session=session, team_id=curated.team_id, user_id=curated.owner_id)
    return atom(
        curated,
        entries,
        owner=(owner.name if owner and owner.name else curated.owner_id),
        base_url=services.settings.base_url,
    )


class ServerThread:
    """The app's HTTP server (uvicorn) on a free loopback port, in a background thread: for the demo
    and the tests, which drive the same endpoint Slack would."""

    def __init__(self, asgi: Starlette) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app's HTTP server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
