"""Curated lists, their items and subscribers, and the feeds they follow."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.claims import claim_due
from storage.models import CuratedList, Feed, FeedEntry, Item, ListItem, Subscription
from storage.workspaces import departed


class DuplicateName(ValueError):
    """The owner already has a list with that name (names are compared without case)."""


def name_key(name: str) -> str:
    return " ".join(name.lower().split())


def create_list(
    *, session: Session, team_id: str, owner_id: str, name: str, description: str | None, now: datetime
) -> CuratedList:
    created = CuratedList(
        team_id=team_id,
        owner_id=owner_id,
        name=name,
        name_key=name_key(name),
        description=description,
        feed_token=secrets.token_urlsafe(24),  # unguessable: the feed URL is the only key to it
        created_at=now,
    )
    session.add(created)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise DuplicateName(name) from None
    return created


def lists_named(*, session: Session, team_id: str, name: str, owner_id: str | None = None) -> list[CuratedList]:
    statement = select(CuratedList).where(CuratedList.team_id == team_id, CuratedList.name_key == name_key(name))
    if owner_id:
        statement = statement.where(CuratedList.owner_id == owner_id)
    return list(session.exec(statement.order_by(col(CuratedList.id))))


def lists_of(*, session: Session, team_id: str, owner_id: str) -> list[CuratedList]:
    statement = select(CuratedList).where(CuratedList.team_id == team_id, CuratedList.owner_id == owner_id)
    return list(session.exec(statement.order_by(col(CuratedList.name_key))))


def get_list(*, session: Session, list_id: int) -> CuratedList | None:
    return session.get(CuratedList, list_id)


def list_by_token(*, session: Session, token: str) -> CuratedList | None:
    return session.exec(select(CuratedList).where(CuratedList.feed_token == token)).first()


def subscriber_counts(*, session: Session, list_ids: list[int]) -> dict[int, int]:
    """Subscribers of each list, its owner not counted."""
    if not list_ids:
        return {}
    statement = (
        select(Subscription.list_id, func.count())
        .join(CuratedList, col(CuratedList.id) == col(Subscription.list_id))
        .where(col(Subscription.list_id).in_(list_ids), col(Subscription.user_id) != col(CuratedList.owner_id))
        .group_by(col(Subscription.list_id))
    )
    return {int(list_id): int(count) for list_id, count in session.exec(statement)}


def item_counts(*, session: Session, list_ids: list[int]) -> dict[int, int]:
    if not list_ids:
        return {}
    statement = (
        select(ListItem.list_id, func.count())
        .where(col(ListItem.list_id).in_(list_ids))
        .group_by(col(ListItem.list_id))
    )
    return {int(list_id): int(count) for list_id, count in session.exec(statement)}


def most_subscribed(*, session: Session, team_id: str, limit: int = 10) -> list[tuple[CuratedList, int]]:
    """The workspace's lists with the most subscribers (owners not counted), then the newest."""
    counted = (
        select(Subscription.list_id, func.count().label("n"))
        .join(CuratedList, col(CuratedList.id) == col(Subscription.list_id))
        .where(col(Subscription.user_id) != col(CuratedList.owner_id))
        .group_by(col(Subscription.list_id))
        .subquery()
    )
    subscribers = func.coalesce(counted.c.n, 0)
    statement = (
        select(CuratedList, subscribers)
        .outerjoin(counted, counted.c.list_id == col(CuratedList.id))
        .where(CuratedList.team_id == team_id)
        .order_by(subscribers.desc(), col(CuratedList.created_at).desc())
        .limit(limit)
    )
    return [(found, int(count)) for found, count in session.exec(statement)]


def add_to_list(
    *, session: Session, curated: CuratedList, item: Item, note: str | None, by: str, now: datetime
) -> tuple[ListItem, bool]:
    """Append `item` (with the curator's note); False when it is already on the list."""
    assert curated.id is not None and item.id is not None
    existing = session.exec(select(ListItem).where(ListItem.list_id == curated.id, ListItem.item_id == item.id)).first()
    if existing is not None:
        return existing, False
    last = session.exec(select(func.max(ListItem.position)).where(ListItem.list_id == curated.id)).one()
    added = ListItem(
        list_id=curated.id, item_id=item.id, position=(last or 0) + 1, note=note, added_by=by, added_at=now
    )
    try:
        with session.begin_nested():
            session.add(added)
    except IntegrityError:
        found = session.exec(select(ListItem).where(ListItem.list_id == curated.id, ListItem.item_id == item.id)).one()
        return found, False
    session.commit()
    return added, True


def remove_from_list(*, session: Session, curated: CuratedList, item: Item) -> bool:
    result = session.execute(
        delete(ListItem).where(col(ListItem.list_id) == curated.id, col(ListItem.item_id) == item.id)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_items(*, session: Session, curated: CuratedList, limit: int | None = None) -> list[tuple[ListItem, Item]]:
    """Newest additions first."""
    statement = (
        select(ListItem, Item)
        .join(Item, col(Item.id) == col(ListItem.item_id))
        .where(ListItem.list_id == curated.id)
        .order_by(col(ListItem.added_at).desc(), col(ListItem.position).desc())
    )
    if limit:
        statement = statement.limit(limit)
    return [(entry, item) for entry, item in session.exec(statement)]


def subscribe(*, session: Session, curated: CuratedList, user_id: str, now: datetime) -> bool:
    assert curated.id is not None
    session.add(Subscription(team_id=curated.team_id, list_id=curated.id, user_id=user_id, created_at=now))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def unsubscribe(*, session: Session, curated: CuratedList, user_id: str) -> bool:
    result = session.execute(
        delete(Subscription).where(col(Subscription.list_id) == curated.id, col(Subscription.user_id) == user_id)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- feeds ------------------------------------------------------------------------------------------


def add_feed(*, session: Session, curated: CuratedList, url: str, by: str, now: datetime) -> tuple[Feed, bool]:
    assert curated.id is not None
    existing = session.exec(select(Feed).where(Feed.list_id == curated.id, Feed.url == url)).first()
    if existing is not None:
        return existing, False
    feed = Feed(team_id=curated.team_id, list_id=curated.id, url=url, created_by=by, created_at=now, next_poll_at=now)
    session.add(feed)
    session.commit()
    return feed, True


def feed_polled(
    *,
    session: Session,
    feed_id: int,
    etag: str | None,
    last_modified: str | None,
    title: str | None,
    now: datetime,
    next_poll_at: datetime,
) -> None:
    """A poll went through: remember the validators for the next conditional request, clear any
    error, and release the claim until the next poll is due."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        return
    feed.etag, feed.last_modified = etag, last_modified
    feed.title = title or feed.title
    feed.error, feed.error_count, feed.claimed_until = None, 0, None
    feed.last_polled_at, feed.next_poll_at = now, next_poll_at
    session.add(feed)
    session.commit()


def feed_failed(*, session: Session, feed_id: int, error: str, failures: int, retry_at: datetime) -> None:
    """A poll failed: count it, keep the reason, and release the claim until `retry_at`."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        return
    feed.error_count, feed.error, feed.claimed_until, feed.next_poll_at = failures, error, None, retry_at
    session.add(feed)
    session.commit()


def claim_feeds(
    *, session: Session, now: datetime, lease: timedelta, limit: int, holder: str | None = None
) -> list[Feed]:
    """Feeds due for polling, leased to `holder` so that no other process polls them at the same time."""
    due = and_(
        or_(col(Feed.next_poll_at).is_(None), col(Feed.next_poll_at) <= now),
        col(Feed.team_id).not_in(departed()),  # a workspace that left is not polled for
    )
    order = [col(Feed.next_poll_at), col(Feed.id)]
    return claim_due(session, Feed, due=due, order_by=order, now=now, lease=lease, limit=limit, holder=holder)


def seen_entry(*, session: Session, feed: Feed, key: str, item_id: int | None, now: datetime) -> bool:
    """Record an entry as seen; False when it was seen before (each entry is added once)."""
    assert feed.id is not None
    try:
        with session.begin_nested():
            session.add(FeedEntry(feed_id=feed.id, entry_key=key[:2048], item_id=item_id, seen_at=now))
    except IntegrityError:
        return False
    return True


def known_entry(*, session: Session, feed: Feed, key: str) -> bool:
    statement = select(FeedEntry.id).where(FeedEntry.feed_id == feed.id, FeedEntry.entry_key == key[:2048])
    return session.exec(statement).first() is not None


def subscriptions_of(*, session: Session, team_id: str, user_id: str) -> list[CuratedList]:
    statement = (
        select(CuratedList)
        .join(Subscription, col(Subscription.list_id) == col(CuratedList.id))
        .where(Subscription.team_id == team_id, Subscription.user_id == user_id)
        .order_by(col(CuratedList.name_key))
    )
    return list(session.exec(statement))
