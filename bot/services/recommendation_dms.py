"""Putting recommendations in front of people: the DM, its updates, and the recommender's notice.

Everything here talks to Slack, so it runs after Slack has its answer: in a lazy listener right
after `/shelf recommend` (or the modal, or a suggestion's button), and from the scheduler for
whatever did not go out then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.services import recommendations as recommend
from bot.services.lookups import why_not_a_recipient
from bot.slack import blocks
from bot.slack.client import client_for_team
from storage import recommendations as rec_store
from storage import tags as tag_store
from storage.models import Item, Recommendation

logger = logging.getLogger(__name__)

RESEND_AFTER = timedelta(minutes=5)
DM_LEASE = timedelta(minutes=5)  # a DM being sent; a process that died holding it loses it sooner (storage.claims)
NOTICE_LEASE = timedelta(minutes=1)  # a notice being sent; due again after this if it was not


@dataclass
class Delivered:
    failed: list[int] = field(default_factory=list)  # Slack refused the DM: the scheduler tries again
    refused: list[tuple[Recommendation, Item, str]] = field(default_factory=list)  # withdrawn, and why
    sent: list[int] = field(default_factory=list)


def _render(services: Services, rec: Recommendation, item: Item) -> tuple[str, list[blocks.Block]]:
    with services.new_session() as session:
        shown_to = rec.to_user_id
        tags = tag_store.tag_names(session=session, item_ids=[item.id or 0], viewer=shown_to).get(item.id or 0, [])
    text = f"<@{rec.from_user_id}> recommends {blocks.display_title(item)}"
    shown = blocks.recommendation_blocks(
        from_user=rec.from_user_id,
        item=item,
        note=rec.note,
        tags=tags,
        state=recommend.state(rec),
        rec_id=rec.id or 0,
    )
    return text, shown


def deliver(services: Services, client: WebClient, rec_ids: list[int]) -> Delivered:
    """DM each recommendation not yet delivered to its recipient. A recipient Slack does not know
    as a colleague (asked here, after the ack, when not looked up lately) gets nothing: the
    recommendation is withdrawn and returned with the reason, for the recommender to hear."""
    outcome = Delivered()
    for rec_id in rec_ids:
        with services.new_session() as session:
            found = rec_store.with_item(session=session, recommendation_id=rec_id)
        if found is None or found[0].dm_ts:
            continue
        rec, item = found
        with services.new_session() as session:
            ours = rec_store.claim_dm(
                session=session, recommendation_id=rec_id, now=services.clock(), lease=DM_LEASE, holder=services.holder
            )
        if not ours:  # sent meanwhile, or being sent by another process
            continue
        why = why_not_a_recipient(services, client, rec.team_id, rec.to_user_id)
        if why is not None:
            with services.new_session() as session:
                rec_store.withdraw(session=session, recommendation_ids=[rec_id])
            outcome.refused.append((rec, item, why))
            continue
        text, shown = _render(services, rec, item)
        try:
            posted = client.chat_postMessage(channel=rec.to_user_id, text=text, blocks=shown, unfurl_links=False)
        except SlackApiError as error:
            logger.warning("recommendation %s not delivered: %s", rec_id, error.response.get("error"))
            with services.new_session() as session:
                rec_store.release_dm(session=session, recommendation_id=rec_id)
            outcome.failed.append(rec_id)
            continue
        with services.new_session() as session:
            rec_store.record_dm(
                session=session, recommendation_id=rec_id, channel=posted.get("channel"), ts=posted.get("ts")
            )
        outcome.sent.append(rec_id)
    return outcome


def refused_text(refused: list[tuple[Recommendation, Item, str]]) -> str:
    """What the recommender is told about recommendations that could not be sent."""
    return " ".join(
        f"{blocks.item_link(item)} was not sent to <@{rec.to_user_id}>: {why}." for rec, item, why in refused
    )


def refresh(
    services: Services, client: WebClient, *, rec_id: int, channel: str | None = None, ts: str | None = None
) -> None:
    """Show the recipient's Save / Done / Thanks in the DM itself (the message the button sits in,
    `channel` and `ts`, when it is known; else the DM recorded when it was sent)."""
    with services.new_session() as session:
        found = rec_store.with_item(session=session, recommendation_id=rec_id)
    if found is None:
        return
    rec, item = found
    channel, ts = channel or rec.dm_channel, ts or rec.dm_ts
    if not channel or not ts:
        return
    text, shown = _render(services, rec, item)
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=shown)
    except SlackApiError as error:
        logger.info("could not update recommendation %s: %s", rec.id, error.response.get("error"))


def send_due_notices(services: Services) -> int:
    """Tell recommenders what their colleagues did (scheduled); one notice per recipient and item."""
    with services.new_session() as session:
        due = rec_store.due_notices(session=session, now=services.clock())
    sent = 0
    for rec, item in due:
        client = client_for_team(services.settings, services.engine, rec.team_id)
        if client is None:
            continue
        with services.new_session() as session:
            ours = rec_store.claim_notice(
                session=session, recommendation_id=rec.id or 0, now=services.clock(), lease=NOTICE_LEASE
            )
        if not ours:  # another worker is telling them
            continue
        try:
            client.chat_postMessage(
                channel=rec.from_user_id, text=recommend.notice_text(rec, blocks.item_link(item)), unfurl_links=False
            )
        except SlackApiError as error:
            logger.warning("notice for recommendation %s not sent: %s", rec.id, error.response.get("error"))
            continue
        with services.new_session() as session:
            rec_store.mark_notified(session=session, recommendation_id=rec.id or 0, now=services.clock())
        sent += 1
    return sent


def resend_undelivered(services: Services) -> int:
    """Recommendations accepted but never DM'd (a crash between the two) go out now (scheduled)."""
    with services.new_session() as session:
        pending = rec_store.undelivered(session=session, older_than=services.clock() - RESEND_AFTER)
    by_team: dict[str, list[int]] = {}
    for rec in pending:
        by_team.setdefault(rec.team_id, []).append(rec.id or 0)
    delivered = 0
    for team_id, ids in by_team.items():
        client = client_for_team(services.settings, services.engine, team_id)
        if client is None:
            continue
        outcome = deliver(services, client, ids)
        delivered += len(outcome.sent)
        for rec, item, why in outcome.refused:
            try:
                client.chat_postMessage(channel=rec.from_user_id, text=refused_text([(rec, item, why)]))
            except SlackApiError as error:
                logger.info("could not tell %s of an unsent recommendation: %s", rec.from_user_id, error)
    return delivered
