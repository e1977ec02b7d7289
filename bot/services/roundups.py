"""Channel roundups: once a week, in a channel that asked for one, the week's most shared and saved
items from that channel, with Save and Recommend buttons; nothing when nothing was shared there.

Each channel's week is claimed in the database before it is posted (a compare-and-set on the
slot last posted), so several processes never post it twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot.services import Services
from bot.services.digests.slots import current_slot
from bot.slack import blocks
from bot.slack.client import client_for_team
from storage import roundups
from storage import tags as tag_store
from storage.models import Item, Roundup
from storage.people import get_person

logger = logging.getLogger(__name__)

DEFAULT_DAY = 4  # Friday: a look back at the week


def turn_on(services: Services, *, team_id: str, channel_id: str, user_id: str, weekday: int) -> str | None:
    """`/shelf roundup on [day]` in a channel: its weekly roundup on that day, at the digest time in
    the time zone of whoever turned it on; that time zone (None: not known, so UTC)."""
    with services.new_session() as session:
        person = get_person(session=session, team_id=team_id, user_id=user_id)
        tz = person.tz if person else None
        roundups.turn_on(
            session=session, team_id=team_id, channel_id=channel_id, weekday=weekday, by=user_id, tz=tz,
            now=services.clock(),
        )  # fmt: skip
    return tz


def turn_off(services: Services, *, team_id: str, channel_id: str) -> bool:
    """`/shelf roundup off`: False when the channel had no roundup on."""
    with services.new_session() as session:
        return roundups.turn_off(session=session, team_id=team_id, channel_id=channel_id)


def run_roundups(services: Services, *, now: datetime | None = None) -> int:
    """(Scheduled) Post each roundup whose weekly slot has come and that is not posted yet; the
    number posted."""
    now = now or services.clock()
    with services.new_session() as session:
        due = [(r, _slot(services, session, r, now)) for r in roundups.enabled(session=session)]
    posted = 0
    for roundup, slot in due:
        if roundup.created_at > slot or (roundup.last_slot_at is not None and roundup.last_slot_at >= slot):
            continue  # turned on after this week's slot, or posted already
        posted += _post(services, roundup, slot)
    return posted


def _slot(services: Services, session: Session, roundup: Roundup, now: datetime) -> datetime:
    """This week's slot: the roundup's day at SHELF_DIGEST_TIME, in the time zone of whoever turned it on."""
    tz = roundup.tz
    if tz is None and roundup.enabled_by:
        person = get_person(session=session, team_id=roundup.team_id, user_id=roundup.enabled_by)
        tz = person.tz if person else None
    return current_slot(now, weekday=roundup.weekday, at=services.settings.digest_time, tz_name=tz)


def _post(services: Services, roundup: Roundup, slot: datetime) -> int:
    client = client_for_team(services.settings, services.engine, roundup.team_id)
    if client is None:
        return 0
    with services.new_session() as session:
        if not roundups.claim_week(session=session, roundup_id=roundup.id or 0, slot_at=slot):
            return 0  # another process has it
        week = roundups.week_in_channel(
            session=session, team_id=roundup.team_id, channel_id=roundup.channel_id,
            since=slot - timedelta(days=7), until=slot,
        )  # fmt: skip
        tags = tag_store.tag_names(session=session, item_ids=[item.id or 0 for item, _, _ in week], viewer=None)
    if not week:
        return 0  # nothing shared there this week: no post
    text, shown = roundup_message(roundup.channel_id, week, tags)
    try:
        client.chat_postMessage(channel=roundup.channel_id, text=text, blocks=shown, unfurl_links=False)
    except SlackApiError as error:  # refused (not in the channel, archived): this week is skipped
        logger.warning("roundup in %s not posted: %s", roundup.channel_id, error.response.get("error"))
        return 0
    except (SlackClientError, OSError) as error:  # Slack not reached: the next pass tries again
        logger.warning("roundup in %s not posted yet: %s", roundup.channel_id, error)
        with services.new_session() as session:
            roundups.give_back_week(session=session, roundup_id=roundup.id or 0, slot_at=slot,
                                    previous=roundup.last_slot_at)  # fmt: skip
        return 0
    return 1


def roundup_message(
    channel_id: str, week: list[tuple[Item, int, int]], tags: dict[int, list[str]]
) -> tuple[str, list[blocks.Block]]:
    heading = f"*The week in <#{channel_id}>* — what was shared here and saved most"
    cards = [
        blocks.item_card(
            item, buttons=("save", "recommend"), tags=tags.get(item.id or 0, []), extra=_taken_up(shared, saved)
        )  # fmt: skip
        for item, shared, saved in week
    ]
    footer = "Peershelf posts this every week; `/shelf roundup off` stops it."
    return f"The week in <#{channel_id}>: {len(week)} links worth a look", blocks.item_list(
        heading, cards, footer=footer
    )


def _taken_up(shared: int, saved: int) -> str:
    parts = [f"shared by {blocks.people_count(shared)}"]
    if saved:
        parts.append(f"saved by {saved}")
    return ", ".join(parts)
