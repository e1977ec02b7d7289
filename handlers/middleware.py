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


def event_id_of(body: dict[str, Any]) -> str | None:
    return body.get("event_id") if body.get("type") == "event_callback" else None


def register(app: App, services: Services) -> None:
    @app.middleware
    def once_per_event(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        event_id = event_id_of(body)
        if event_id and not events.first_delivery(services, event_id=event_id, team_id=body.get("team_id")):
            logger.info("skipping event %s of team %s: already processed", event_id, body.get("team_id"))
            return BoltResponse(status=200, body="")
        next()
        return None
