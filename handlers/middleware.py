"""Global middleware: a retried Slack event has the effect of one (see bot.services.events).

Bolt verifies signatures before any of this runs, so nothing is written for a forged request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.services import Services, events

logger = logging.getLogger(__name__)


# Events whose effect is the same however often they arrive, so a retry needs no record: a message
# is captured by its ts (an item per link, a share per message and link), an edit or deletion sets
# the message's state. Most messages carry no link, and their ack then writes nothing at all.
IDEMPOTENT_EVENTS = frozenset({"message"})


def event_id_of(body: dict[str, Any]) -> str | None:
    """The ID of an event to record once, or None (not an event, or one a retry cannot repeat)."""
    if body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if isinstance(event, dict) and event.get("type") in IDEMPOTENT_EVENTS:
        return None
    return body.get("event_id")


def register(app: App, services: Services) -> None:
    @app.middleware
    def once_per_event(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        event_id = event_id_of(body)
        if event_id and not events.first_delivery(services, event_id=event_id, team_id=body.get("team_id")):
            logger.info("skipping event %s of team %s: already processed", event_id, body.get("team_id"))
            return BoltResponse(status=200, body="")
        next()
        return None
