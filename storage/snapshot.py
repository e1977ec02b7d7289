"""Everything a digest pass needs, read in a handful of queries for all its people at once.

Building digests person by person cost a dozen queries each; a workspace of ten thousand people
took minutes. The snapshot reads each kind of fact once for everyone (pending recommendations,
list additions, follows, recent activity, unread saves, last digests) and digests are then
assembled in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.db import chunked, one_of
from storage.models import (
    CuratedList,
    DigestDelivery,
    Follow,
    Item,
    ListItem,
    Recommendation,
    Save,
    Share,
    Subscription,
)
from storage.visibility import done_in_the_open, share_in_the_open

ADDITIONS_PER_PERSON = 30


@dataclass
class Snapshot:
    """Facts about `users` of one workspace, as of one pass."""

    recommended: dict[str, list[tuple[int, str, datetime]]] = field(default_factory=dict)  # item, from, when
    done: set[tuple[str, int]] = field(default_factory=set)  # (user, item) marked done
    list_additions: dict[str, list[tuple[int, str, datetime, str | None]]] = field(default_factory=dict)
    follows: dict[str, list[str]] = field(default_factory=dict)
    shared: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)  # public shares since `since`
    saved: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)  # saves since `since`
    unread: dict[str, list[int]] = field(default_factory=dict)  # oldest first

    @classmethod
    def load(
        cls,
        session: Session,
        *,
        team_id: str,
        users: list[str],
        since: datetime,
        activity: Activity | None = None,
        activity_since: datetime | None = None,
    ) -> Snapshot:
        """`since` is the earliest moment any of these people's digests looks back to. `activity`
        carries what followed people did across the batches of one pass, so it is read once, from
        `activity_since` (early enough for every batch)."""
        snap = cls()
        recommended: dict[str, list[tuple[int, str, datetime]]] = defaultdict(list)
        additions: dict[str, list[tuple[int, str, datetime, str | None]]] = defaultdict(list)
        follows: dict[str, list[str]] = defaultdict(list)
        unread: dict[str, list[int]] = defaultdict(list)
        for chunk in chunked(users):
            for item_id, who, to, when in session.execute(
                select(
                    Recommendation.item_id,
                    Recommendation.from_user_id,
                    Recommendation.to_user_id,
                    Recommendation.created_at,
                )
                .where(
                    Recommendation.team_id == team_id,
                    one_of(session, col(Recommendation.to_user_id), chunk),
                    col(Recommendation.done_at).is_(None),
                )
                .order_by(col(Recommendation.created_at).desc())
            ):
                recommended[to].append((int(item_id), str(who), when))
            snap.done |= {
                (str(user), int(item))
                for user, item in session.execute(
                    select(Save.user_id, Save.item_id).where(
                        Save.team_id == team_id, one_of(session, col(Save.user_id), chunk), Save.status == "done"
                    )
                )
            }
            newest = func.row_number().over(
                partition_by=col(Subscription.user_id), order_by=col(ListItem.added_at).desc()
            )
            ranked = (
                sa_select(  # six columns: more than sqlmodel's select() is typed for
                    col(ListItem.item_id),
                    col(CuratedList.name),
                    col(ListItem.added_at),
                    col(ListItem.added_by),
                    col(Subscription.user_id),
                    newest.label("n"),
                )
                .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
                .join(Subscription, col(Subscription.list_id) == col(CuratedList.id))
                .where(
                    col(Subscription.team_id) == team_id,
                    one_of(session, col(Subscription.user_id), chunk),
                    col(ListItem.added_at) >= since,
                )
                .subquery()
            )
            # Each person's newest few additions are all a digest can show; a busy list must not
            # bring its whole month into memory for every subscriber.
            for item_id, name, when, by, user in session.execute(
                sa_select(ranked.c.item_id, ranked.c.name, ranked.c.added_at, ranked.c.added_by, ranked.c.user_id)
                .where(ranked.c.n <= ADDITIONS_PER_PERSON)
                .order_by(ranked.c.added_at.desc())
            ):
                additions[user].append((int(item_id), str(name), _aware(when), by))
            for follower, followee in session.execute(
                select(Follow.follower_id, Follow.followee_id).where(
                    Follow.team_id == team_id, one_of(session, col(Follow.follower_id), chunk)
                )
            ):
                follows[follower].append(followee)
            for user, item_id in session.execute(
                select(Save.user_id, Save.item_id)
                .where(Save.team_id == team_id, one_of(session, col(Save.user_id), chunk), Save.status == "unread")
                .order_by(col(Save.saved_at), col(Save.id))
            ):
                if len(unread[user]) < 10:
                    unread[user].append(int(item_id))
        followed = sorted({f for fs in follows.values() for f in fs})
        cache = activity if activity is not None else Activity()
        cache.load(session, team_id=team_id, users=followed, since=activity_since or since)
        snap.recommended, snap.list_additions, snap.follows = dict(recommended), dict(additions), dict(follows)
        snap.shared, snap.saved, snap.unread = cache.shared, cache.saved, dict(unread)
        return snap


@dataclass
class Activity:
    """The latest public shares of people, and their saves made in the open (a save made while its
    item was private never says "saved by" them, even once the item is in the open), read once per
    pass whatever the batch."""

    shared: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)
    saved: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    per_person: int = 15  # a digest shows five; more than enough after filtering

    def load(self, session: Session, *, team_id: str, users: list[str], since: datetime) -> None:
        missing = [user for user in users if user not in self.known]
        for chunk in chunked(missing):
            for model, stamp, extra, into in (
                (Share, Share.shared_at, share_in_the_open(), self.shared),
                (Save, Save.saved_at, done_in_the_open(Save.item_id, Save.saved_at), self.saved),
            ):
                rank = func.row_number().over(partition_by=col(model.user_id), order_by=col(stamp).desc())
                recent = (
                    sa_select(col(model.user_id), col(model.item_id), col(stamp).label("at"), rank.label("n"))
                    .where(
                        col(model.team_id) == team_id,
                        one_of(session, col(model.user_id), chunk),
                        col(stamp) >= since,
                        extra,
                    )
                    .subquery()
                )
                rows = session.execute(
                    sa_select(recent.c.user_id, recent.c.item_id, recent.c.at).where(recent.c.n <= self.per_person)
                )
                for user, item_id, when in rows:
                    into.setdefault(str(user), []).append((int(item_id), _aware(when)))
            self.known.update(chunk)


def last_sent(session: Session, *, team_id: str, users: list[str]) -> dict[str, datetime]:
    """The slot of each person's last digest sent, where there was one."""
    found: dict[str, datetime] = {}
    for chunk in chunked(users):
        for user, slot in session.execute(
            select(DigestDelivery.user_id, func.max(DigestDelivery.slot_at))
            .where(
                DigestDelivery.team_id == team_id,
                one_of(session, col(DigestDelivery.user_id), chunk),
                DigestDelivery.status == "sent",
            )
            .group_by(col(DigestDelivery.user_id))
        ):
            found[str(user)] = _aware(slot)
    return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def visibility(session: Session, item_ids: Iterable[int]) -> dict[int, bool]:
    """Whether each of `item_ids` is public: all a digest needs to choose among its candidates,
    read as plain rows (whole items are loaded for the few chosen)."""
    ids = sorted(set(item_ids))
    found: dict[int, bool] = {}
    for chunk in chunked(ids):
        for item_id, public in session.execute(
            select(Item.id, Item.is_public).where(one_of(session, col(Item.id), chunk))
        ):
            found[int(item_id or 0)] = bool(public)
    return found


class ItemCard(NamedTuple):
    """The columns of an item that a digest shows: a batch of digests shows a hundred thousand."""

    id: int
    url: str
    title: str | None
    kind: str
    site_name: str | None
    author: str | None
    duration_seconds: int | None


def cards_by_id(session: Session, item_ids: Iterable[int]) -> dict[int, ItemCard]:
    """The items behind `item_ids` (public or not: callers decide), read once for a batch as plain
    rows: building whole Items cost more than everything else in a digest pass's reading."""
    ids = sorted(set(item_ids))
    fields = (Item.id, Item.url, Item.title, Item.kind, Item.site_name, Item.author, Item.duration_seconds)
    columns = [col(attribute) for attribute in fields]
    found: dict[int, ItemCard] = {}
    for chunk in chunked(ids):
        for row in session.execute(sa_select(*columns).where(one_of(session, col(Item.id), chunk))):
            card = ItemCard(*row)
            found[card.id] = card
    return found


def shares_by(session: Session, *, team_id: str, pairs: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which (person, item) of `pairs` the person shared themselves, ever."""
    users = sorted({user for user, _ in pairs})
    items = {item for _, item in pairs}
    found: set[tuple[str, int]] = set()
    for chunk in chunked(users):
        for user, item_id in session.execute(
            select(Share.user_id, Share.item_id).where(
                Share.team_id == team_id, one_of(session, col(Share.user_id), chunk)
            )
        ):
            if int(item_id) in items:
                found.add((str(user), int(item_id)))
    return found & pairs
