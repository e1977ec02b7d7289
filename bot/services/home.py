"""The App Home tab: a person's shelf, what was picked for them, lists, interests, digest settings and
the week's top items."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.services import Services
from bot.services.digests.slots import preferences
from bot.services.picks import Pick, picks_for
from bot.slack import home as home_tab
from storage import backfills
from storage import items as item_store
from storage import lists as list_store
from storage import tags as tag_store
from storage.activity import top_items
from storage.people import get_person, interests_of
from storage.snapshot import cards_by_id

logger = logging.getLogger(__name__)

TOP_ROWS = 5


def home_view(
    services: Services, *, team_id: str, user_id: str, commands: list[tuple[str, str]], tips: list[str]
) -> dict[str, Any]:
    """The person's Home tab as it stands now."""
    now = services.clock()
    with services.new_session() as session:
        shelf = item_store.shelf(session=session, team_id=team_id, user_id=user_id)
        newest = shelf[: home_tab.HOME_SHELF_ROWS]
        tags = tag_store.tag_names(session=session, item_ids=[item.id or 0 for _, item in newest], viewer=user_id)
        own = list_store.lists_of(session=session, team_id=team_id, owner_id=user_id)
        subscribed = list_store.subscriptions_of(session=session, team_id=team_id, user_id=user_id)
        interests = interests_of(session=session, team_id=team_id, user_id=user_id)
        person = get_person(session=session, team_id=team_id, user_id=user_id)
        top = top_items(session=session, team_id=team_id, since=now - timedelta(days=7), limit=TOP_ROWS)
        picked = _picks(session, team_id=team_id, user_id=user_id, now=now)
        cards = cards_by_id(session, [pick.item_id for pick in picked])
        picked_tags = tag_store.tag_names(session=session, item_ids=list(cards), viewer=user_id)
        imported = backfills.progress(session=session, team_id=team_id) if person and person.is_admin else None
    day, at = preferences(
        services.settings, person.digest_day if person else None, person.digest_time if person else None
    )
    unread = sum(1 for save, _ in shelf if save.status != "done")
    return home_tab.home_view(
        tips=tips,
        shelf=[(item, save.status == "done", tags.get(item.id or 0, [])) for save, item in newest],
        unread=unread,
        done=len(shelf) - unread,
        own_lists=[curated.name for curated in own],
        subscriptions=[(curated.name, curated.owner_id) for curated in subscribed],
        interests=interests,
        digest_on=person is None or person.digest_enabled,
        digest_day=day,
        digest_time=f"{at:%H:%M}",
        time_zone=person.tz if person else None,
        top=top,
        picks=[
            (cards[pick.item_id], pick.why, picked_tags.get(pick.item_id, []))
            for pick in picked
            if pick.item_id in cards
        ],
        commands=commands,
        **(history_panel(imported) if person and person.is_admin else {}),
    )


def _picks(session: Session, *, team_id: str, user_id: str, now: datetime) -> list[Pick]:
    """The person's picks; none (and the trace kept) rather than no Home tab when they cannot be made."""
    try:
        return picks_for(session, team_id=team_id, user_id=user_id, now=now)
    except Exception:
        logger.exception("no picks on the Home tab of %s in team %s", user_id, team_id)
        return []


def history_panel(progress: backfills.Progress | None) -> dict[str, Any]:
    """What a workspace admin sees of the history import, and the button that starts it."""
    title = "*Import history* (admins)"
    if progress is None:
        text = (
            f"{title}\nAdd the links shared in the last 90 days of the public channels Peershelf is in, "
            "as if it had been there: their sharers, dates and save reactions. It runs in the background."
        )
        return {"history": text, "history_button": "Import the last 90 days"}
    counts = f"{progress.messages:,} messages read, {progress.links:,} links and {progress.saves:,} saves added"
    failed = f" {progress.failed} could not be read." if progress.failed else ""
    if progress.running:
        text = f"{title}\nImporting: {progress.done} of {progress.channels} channels done, {counts} so far.{failed}"
        return {"history": text}
    when = f" on {progress.finished_at:%d %b %Y}" if progress.finished_at else ""
    text = f"{title}\nImported{when}: {progress.channels} channels, {counts}.{failed}"
    return {"history": text, "history_button": "Look again (channels joined since)"}
