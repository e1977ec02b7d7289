"""What people did with items lately: the activity that ranks the week's top items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Subquery, func, union_all
from sqlmodel import Session, col, select

from storage.models import Item, Recommendation, Save, Share
from storage.tags import has_tag
from storage.visibility import done_in_the_open, in_the_open, share_in_the_open


def recent_activity(team_id: str, since: datetime) -> Subquery:
    """(item_id, user_id) for every public share, save and recommendation since `since`: who took
    to what. Only what was done in the open counts: a share in a private channel, or a save or a
    recommendation made while the item was private, is nobody's business, even as a number."""
    return union_all(
        select(col(Share.item_id).label("item_id"), col(Share.user_id).label("user_id")).where(
            Share.team_id == team_id, col(Share.shared_at) >= since, share_in_the_open()
        ),
        select(col(Save.item_id), col(Save.user_id)).where(
            Save.team_id == team_id, col(Save.saved_at) >= since, done_in_the_open(Save.item_id, Save.saved_at)
        ),
        select(col(Recommendation.item_id), col(Recommendation.from_user_id)).where(
            Recommendation.team_id == team_id,
            col(Recommendation.created_at) >= since,
            done_in_the_open(Recommendation.item_id, Recommendation.created_at),
        ),
    ).subquery()


def top_items(
    *, session: Session, team_id: str, since: datetime, tag: str | None = None, limit: int = 10
) -> list[tuple[Item, int]]:
    """Public items ranked by how many different people shared, saved or recommended them since `since`."""
    activity = recent_activity(team_id, since)
    people = func.count(func.distinct(activity.c.user_id)).label("people")
    statement = (
        select(Item, people)
        .join(activity, activity.c.item_id == col(Item.id))
        .where(col(Item.team_id) == team_id, in_the_open())
        .group_by(col(Item.id))
        .order_by(people.desc(), col(Item.id).desc())
        .limit(limit)
    )
    if tag:
        statement = statement.where(has_tag(tag, viewer=None))  # the tags given in the open
    return [(item, int(count)) for item, count in session.exec(statement)]
