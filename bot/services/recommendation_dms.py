"""Putting recommendations in front of people: the DM, its updates, and the recommender's notice."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.services import recommendations as recommend
from bot.slack import blocks
from bot.slack.client import client_for_team
from storage import items as item_store
from storage.models import Item, Recommendation

logger = logging.getLogger(__name__)

RESEND_AFTER = timedelta(minutes=5)


def _tags(services: Services, item: Item) -> str:
    with services.new_session() as session:
        tags = item_store.active_tags(session=session, item_ids=[item.id or 0]).get(item.id or 0, [])
    return " ".join(f"#{t.tag}" for t in tags[:4])


def _render(services: Services, rec: Recommendation, item: Item) -> tuple[str, list[blocks.Block]]:
    text = f"<@{rec.from_user_id}> recommends {blocks.display_title(item)}"
    shown = blocks.recommendation_blocks(
        from_user=rec.from_user_id,
        item=item,
        note=rec.note,
        tags=_tags(services, item),
        state=recommend.state(rec),
        rec_id=rec.id or 0,
    )
    return text, shown


def deliver(services: Services, client: WebClient, rec_ids: list[int]) -> list[int]:
    """DM each recommendation not yet delivered to its recipient; returns the ids that failed."""
    failed = []
    for rec_id in rec_ids:
        with services.new_session() as session:
            rec = session.get(Recommendation, rec_id)
            item = session.get(Item, rec.item_id) if rec else None
        if rec is None or item is None or rec.dm_ts:
            continue
        text, shown = _render(services, rec, item)
        try:
            posted = client.chat_postMessage(channel=rec.to_user_id, text=text, blocks=shown, unfurl_links=False)
        except SlackApiError as error:
            logger.warning("recommendation %s not delivered: %s", rec_id, error.response.get("error"))
            failed.append(rec_id)
            continue
        with services.new_session() as session:
            stored = session.get(Recommendation, rec_id)
            if stored is not None:
                stored.dm_channel, stored.dm_ts = posted.get("channel"), posted.get("ts")
                session.add(stored)
                session.commit()
    return failed


def refresh(services: Services, client: WebClient, rec: Recommendation, item: Item) -> None:
    """Show the recipient's Save / Done / Thanks in the DM itself."""
    if not rec.dm_channel or not rec.dm_ts:
        return
    text, shown = _render(services, rec, item)
    try:
        client.chat_update(channel=rec.dm_channel, ts=rec.dm_ts, text=text, blocks=shown)
    except SlackApiError as error:
        logger.info("could not update recommendation %s: %s", rec.id, error.response.get("error"))


def send_due_notices(services: Services) -> int:
    """Tell recommenders what their colleagues did (scheduled); one notice per recipient and item."""
    now = services.clock()
    with services.new_session() as session:
        due = recommend.due_notices(session=session, now=now)
    sent = 0
    for rec in due:
        client = client_for_team(services.settings, services.engine, rec.team_id)
        with services.new_session() as session:
            item = session.get(Item, rec.item_id)
        if client is None or item is None:
            continue
        try:
            client.chat_postMessage(
                channel=rec.from_user_id, text=recommend.notice_text(rec, blocks.item_link(item)), unfurl_links=False
            )
        except SlackApiError as error:
            logger.warning("notice for recommendation %s not sent: %s", rec.id, error.response.get("error"))
            continue
        with services.new_session() as session:
            stored = session.get(Recommendation, rec.id)
            if stored is not None:
                stored.notified_at = services.clock()
                session.add(stored)
                session.commit()
        sent += 1
    return sent


def resend_undelivered(services: Services) -> int:
    """Recommendations accepted but never DM'd (a crash between the two) go out now (scheduled)."""
    with services.new_session() as session:
        pending = recommend.undelivered(session=session, older_than=services.clock() - RESEND_AFTER)
    by_team: dict[str, list[int]] = {}
    for rec in pending:
        by_team.setdefault(rec.team_id, []).append(rec.id or 0)
    delivered = 0
    for team_id, ids in by_team.items():
        client = client_for_team(services.settings, services.engine, team_id)
        if client is not None:
            delivered += len(ids) - len(deliver(services, client, ids))
    return delivered
