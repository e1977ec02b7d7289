"""One error handler: an unexpected failure becomes a polite reply and a logged trace."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services, events
from handlers.middleware import event_id_of

logger = logging.getLogger(__name__)

SORRY = "Sorry — something went wrong on my side and nothing was changed. It has been logged; please try again."


def register(app: App, services: Services) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], client: WebClient) -> BoltResponse | None:
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        if isinstance(error, BoltUnhandledRequestError):
            return _unhandled(body)
        logger.error("unhandled error (team=%s user=%s): %s", team, user, error, exc_info=error)
        if body.get("command"):
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", "text": SORRY}),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        if body.get("type") in ("block_actions", "view_submission", "shortcut", "message_action") and user:
            try:
                client.chat_postMessage(channel=user, text=SORRY)
            except SlackApiError:
                logger.warning("could not tell user %s of team %s about the error", user, team)
            return BoltResponse(status=200, body="")
        # Events keep Bolt's 500, so Slack retries them and the retry is processed afresh.
        event_id = event_id_of(body)
        if event_id:
            events.forget(services, event_id=event_id)
        return None


def _unhandled(body: dict[str, Any]) -> BoltResponse:
    """Answer what no listener takes: Slack would otherwise retry events and show users an error."""
    kind = body.get("command") or body.get("type") or "request"
    event_type = (body.get("event") or {}).get("type")
    logger.debug("nothing handles %s %s; acknowledged", kind, event_type or "")
    if body.get("command"):
        return BoltResponse(
            status=200,
            body=json.dumps({"response_type": "ephemeral", "text": f"Peershelf does not handle `{kind}`."}),
            headers={"content-type": "application/json;charset=utf-8"},
        )
    return BoltResponse(status=200, body="")
