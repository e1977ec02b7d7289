"""Deleting what Peershelf keeps of a whole workspace (every row, in every table) or of one person.

Tables are found from the metadata, not listed by hand, so a table added later is covered by the
same code: every table with a `team_id` column is emptied of the workspace's rows, children before
parents, after the three kinds of row that reach a workspace only through a parent (a list's
items, a feed's entries) or live outside the metadata (the search index).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, or_, text, update
from sqlmodel import Session, SQLModel, col, select

from storage.models import (
    Backfill,
    CaptureQueue,
    ChannelMember,
    CuratedList,
    DigestDelivery,
    Dismissal,
    Feed,
    FeedEntry,
    Follow,
    Interest,
    ItemTag,
    ListItem,
    Person,
    Recommendation,
    Roundup,
    Save,
    Share,
    Subscription,
)


def forget_workspace(*, session: Session, team_id: str) -> int:
    """Delete every row of the workspace `team_id`; the caller commits. Returns how many rows went."""
    deleted = 0
    lists = select(col(CuratedList.id)).where(col(CuratedList.team_id) == team_id)
    feeds = select(col(Feed.id)).where(col(Feed.team_id) == team_id)
    deleted += _affected(session, delete(ListItem).where(col(ListItem.list_id).in_(lists)))
    deleted += _affected(session, delete(FeedEntry).where(col(FeedEntry.feed_id).in_(feeds)))
    deleted += _affected(session, text("DELETE FROM search_doc WHERE team_id = :team").bindparams(team=team_id))
    for table in reversed(SQLModel.metadata.sorted_tables):
        if "team_id" in table.c:
            deleted += _affected(session, delete(table).where(table.c.team_id == team_id))
    return deleted


@dataclass
class Forgotten:
    """What forgetting one person removed, counted for their confirmation."""

    saves: int = 0
    lists: int = 0
    recommendations: int = 0
    shares_unnamed: int = 0
    item_ids: list[int] = field(default_factory=list)  # items that lost something (to settle)


ANONYMOUS = ""  # the sharer of a public share whose author asked to be forgotten


def forget_person(*, session: Session, team_id: str, user_id: str) -> Forgotten:
    """Delete one person's saves, notes, lists (with their items, feeds and subscribers),
    subscriptions, follows (both ways), interests, settings, digests, recommendations (sent and
    received), the channels they were known to be in, and their private shares and tags; take their
    name and words off their public shares and tags. The caller settles `item_ids`
    (storage.items.settle_items) and commits."""
    done = Forgotten()
    touched: set[int] = set()
    # Messages of theirs still waiting to be captured, first: a capture already under way holds its
    # queue row (storage.captures.done) until it commits, so this waits for it and then deletes what
    # it recorded too; one not begun finds its row gone and records nothing. (On SQLite this first
    # write takes the file's write lock, with the same effect.)
    pattern = f'%"user_id": {json.dumps(user_id)}%'
    _affected(
        session,
        delete(CaptureQueue).where(col(CaptureQueue.team_id) == team_id, col(CaptureQueue.message).like(pattern)),
    )
    mine = and_(col(Save.team_id) == team_id, col(Save.user_id) == user_id)
    touched |= set(session.exec(select(Save.item_id).where(mine)))
    done.saves = _affected(session, delete(Save).where(mine))
    session.execute(
        text("DELETE FROM search_doc WHERE team_id = :team AND user_id = :user"), {"team": team_id, "user": user_id}
    )

    owned = select(col(CuratedList.id)).where(col(CuratedList.team_id) == team_id, col(CuratedList.owner_id) == user_id)
    list_ids = list(session.exec(owned))
    if list_ids:
        touched |= set(session.exec(select(ListItem.item_id).where(col(ListItem.list_id).in_(list_ids))))
        feeds = select(col(Feed.id)).where(col(Feed.list_id).in_(list_ids))
        _affected(session, delete(FeedEntry).where(col(FeedEntry.feed_id).in_(feeds)))
        for child in (ListItem, Subscription, Feed):
            _affected(session, delete(child).where(col(child.list_id).in_(list_ids)))
        done.lists = _affected(session, delete(CuratedList).where(col(CuratedList.id).in_(list_ids)))

    theirs = and_(
        col(Recommendation.team_id) == team_id,
        or_(col(Recommendation.from_user_id) == user_id, col(Recommendation.to_user_id) == user_id),
    )
    touched |= set(session.exec(select(Recommendation.item_id).where(theirs)))
    done.recommendations = _affected(session, delete(Recommendation).where(theirs))

    for model, column in (  # type: ignore[var-annotated]
        (Subscription, Subscription.user_id),
        (Follow, Follow.follower_id),
        (Follow, Follow.followee_id),
        (Interest, Interest.user_id),
        (DigestDelivery, DigestDelivery.user_id),
        (ChannelMember, ChannelMember.user_id),  # which channels Slack said they are in
        (Dismissal, Dismissal.user_id),  # what they waved off with Not for me
        (Person, Person.user_id),
    ):
        _affected(session, delete(model).where(col(model.team_id) == team_id, col(column) == user_id))

    shared = and_(col(Share.team_id) == team_id, col(Share.user_id) == user_id)
    touched |= set(session.exec(select(Share.item_id).where(shared)))
    _affected(session, delete(Share).where(shared, col(Share.is_private)))
    done.shares_unnamed = _affected(session, update(Share).where(shared).values(user_id=ANONYMOUS, context=None))

    # A channel's roundup and a history import stay the channel's, without the name of who started them.
    _affected(session, update(Roundup).where(col(Roundup.team_id) == team_id, col(Roundup.enabled_by) == user_id)
            .values(enabled_by=None))  # fmt: skip
    _affected(session, update(Backfill).where(col(Backfill.team_id) == team_id, col(Backfill.requested_by) == user_id)
            .values(requested_by=None))  # fmt: skip

    tagged = and_(col(ItemTag.team_id) == team_id, col(ItemTag.created_by) == user_id)
    _affected(session, delete(ItemTag).where(tagged, col(ItemTag.is_private)))
    _affected(session, update(ItemTag).where(tagged).values(created_by=None))
    done.item_ids = sorted(touched)
    return done


def _affected(session: Session, statement: Any) -> int:
    """Run a DELETE or UPDATE; the number of rows it touched."""
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
