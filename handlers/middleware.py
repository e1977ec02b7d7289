"""Global middleware: a retried Slack event has the effect of one.

Bolt verifies signatures before any of this runs, so nothing is written for a forged request.
The event ID is recorded before the listener runs and forgotten again when the listener fails,
so Slack's retry of a failed event is processed rather than dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.services import Services
from storage import events as event_store

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.middleware
    def once_per_event(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        team_id = body.get("team_id")
        with services.new_session() as session:
            first = event_store.claim_event(session=session, event_id=event_id, team_id=team_id, now=services.clock())
        if not first:
            logger.info("skipping event %s of team %s: already processed", event_id, team_id)
            return BoltResponse(status=200, body="")
        try:
            response = next()
        except BaseException:
            _release(services, event_id)
            raise
        if response is None or response.status >= 500:
            _release(services, event_id)
        return response


def _release(services: Services, event_id: str) -> None:
    with services.new_session() as session:
        event_store.release_event(session=session, event_id=event_id)
