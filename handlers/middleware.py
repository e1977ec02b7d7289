"""Global middleware: a retried Slack event has the effect of one.

Bolt verifies signatures before any of this runs, so nothing is written for a forged request.
The event ID is recorded before the listener runs; when the listener fails, the error handler
forgets it again (`forget_failed_event`), so Slack's retry of a failed event is processed rather
than dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.services import Services
from storage import events as event_store

logger = logging.getLogger(__name__)


def _event_id(body: dict[str, Any]) -> str | None:
    return body.get("event_id") if body.get("type") == "event_callback" else None


def register(app: App, services: Services) -> None:
    @app.middleware
    def once_per_event(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        event_id = _event_id(body)
        if event_id:
            team_id = body.get("team_id")
            with services.new_session() as session:
                first = event_store.claim_event(
                    session=session, event_id=event_id, team_id=team_id, now=services.clock()
                )
            if not first:
                logger.info("skipping event %s of team %s: already processed", event_id, team_id)
                return BoltResponse(status=200, body="")
        next()
        return None


def forget_failed_event(services: Services, body: dict[str, Any]) -> None:
    """Undo the record of an event whose listener failed, so Slack's retry is processed."""
    event_id = _event_id(body)
    if event_id:
        with services.new_session() as session:
            event_store.release_event(session=session, event_id=event_id)
