"""A retried Slack event has the effect of one: each event ID is recorded the first time it is seen.

Slack retries an event it thinks was not received (a slow answer, a 5xx). The ID is recorded
before the listener runs; when the listener fails, it is forgotten again, so that Slack's retry of
a failed event is processed rather than dropped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.services import Services
from storage import events as event_store

logger = logging.getLogger(__name__)

# Slack retries an event three times within about an hour; a day is a wide margin.
EVENT_ID_RETENTION = timedelta(days=1)


def first_delivery(services: Services, *, event_id: str, team_id: str | None) -> bool:
    """Record `event_id`; False when it was seen before (a retry or a duplicate delivery)."""
    return event_store.claim_event(services.engine, event_id=event_id, team_id=team_id, now=services.clock())


def forget(services: Services, *, event_id: str) -> None:
    """Forget an event whose listener failed, so that Slack's retry of it is processed."""
    with services.new_session() as session:
        event_store.release_event(session=session, event_id=event_id)


def prune_processed_events(services: Services) -> int:
    """Forget event IDs older than any retry Slack would still send (scheduled)."""
    with services.new_session() as session:
        removed = event_store.forget_events_before(session=session, cutoff=services.clock() - EVENT_ID_RETENTION)
    if removed:
        logger.info("forgot %d processed event ids", removed)
    return removed
