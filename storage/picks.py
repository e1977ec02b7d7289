"""What "Picked for you" learns from, read for a whole workspace at once, through the one rule.

Two kinds of fact, kept apart because they may shape different people's picks:

- **Done in the open** (`Open`): public shares of items in the open, and saves made once their
  item was in the open (storage.visibility.done_in_the_open). These are what colleagues' picks
  may learn from: who saves what, what is popular, who shares what where.
- **Each person's own** (`Own`): everything they shared, saved, marked done, recommended, were
  sent, or waved off, in private too. It shapes only that person's own picks.

Candidates are only items in the open, so nothing private is ever picked for anyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import chunked, one_of
from storage.models import (
    Channel,
    CuratedList,
    Dismissal,
    Follow,
    Interest,
    Item,
    ItemTag,
    ListItem,
    PickModel,
    Recommendation,
    Save,
    Share,
    Subscription,
)
from storage.visibility import channel_in_the_open, done_in_the_open, in_the_open, share_in_the_open, tag_seen_by


class Appearance(NamedTuple):
    """An item reaching the open: its first public share, or its first list addition."""

    item_id: int
    at: datetime
    sharer: str | None  # who shared it in public (None: it came from a list)
    channel_id: str | None  # the public channel it was first shared in
    list_id: int | None


@dataclass
class Open:
    """A workspace's activity in the open since some instant."""

    appearances: dict[int, Appearance] = field(default_factory=dict)  # item -> how it reached the open
    shares: list[tuple[int, str, str, datetime]] = field(default_factory=list)  # item, user, channel, when
    saves: list[tuple[int, str, datetime]] = field(default_factory=list)  # item, user, when (made in the open)
    list_items: dict[int, set[int]] = field(default_factory=dict)  # list -> items on it
    list_names: dict[int, str] = field(default_factory=dict)


@dataclass
class Own:
    """Each person's own activity: (item, what, when); `what` is shared, saved, done, sent, received,
    or listed (on a list of theirs)."""

    acts: dict[str, list[tuple[int, str, datetime]]] = field(default_factory=dict)
    dismissed: dict[str, set[int]] = field(default_factory=dict)
    interests: dict[str, set[str]] = field(default_factory=dict)
    follows: dict[str, set[str]] = field(default_factory=dict)
    subscriptions: dict[str, set[int]] = field(default_factory=dict)


class Text(NamedTuple):
    title: str | None
    description: str | None
    site_name: str | None
    kind: str
    keywords: str | None = None
    url: str | None = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _list_additions(session: Session, *, team_id: str, since: datetime, into: Open) -> None:
    """List additions of items in the open since `since`: an item first in the open by a list
    appears then (an earlier public share keeps its sharer and channel)."""
    found = into
    additions = session.execute(
        sa_select(col(ListItem.item_id), col(ListItem.list_id), col(ListItem.added_at), col(CuratedList.name))
        .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
        .join(Item, col(Item.id) == col(ListItem.item_id))
        .where(col(CuratedList.team_id) == team_id, col(ListItem.added_at) >= since, in_the_open())
        .order_by(col(ListItem.added_at), col(ListItem.id))
    )
    for item_id, list_id, at, name in additions:
        when = _aware(at)
        found.list_items.setdefault(int(list_id), set()).add(int(item_id))
        found.list_names[int(list_id)] = str(name)
        seen = found.appearances.get(int(item_id))
        if seen is None or when < seen.at:
            found.appearances[int(item_id)] = Appearance(
                int(item_id), when, seen.sharer if seen else None, seen.channel_id if seen else None, int(list_id)
            )


def workspace_since(session: Session, *, team_id: str, since: datetime) -> tuple[Open, Own]:
    """What was done in the open since `since` (public shares of items still in the open, saves
    made in the open, list additions), and everyone's `own_activity`, reading each share and save
    once: which of them were done in the open is worked out in the same read."""
    found, own = Open(), own_activity(session, team_id=team_id, users=None, since=since, shares_and_saves=False)
    shares = session.execute(
        sa_select(
            col(Share.item_id),
            col(Share.user_id),
            col(Share.channel_id),
            col(Share.shared_at),
            and_(share_in_the_open(), in_the_open()).label("open"),
        )
        .join(Item, col(Item.id) == col(Share.item_id))
        .where(col(Share.team_id) == team_id, col(Share.shared_at) >= since)
        .order_by(col(Share.shared_at), col(Share.id))
    )
    for item_id, user_id, channel_id, at, in_open in shares:
        item, user, when = int(item_id), str(user_id), _aware(at)
        own.acts.setdefault(user, []).append((item, "shared", when))
        if in_open:
            found.shares.append((item, user, str(channel_id), when))
            if item not in found.appearances:
                found.appearances[item] = Appearance(item, when, user, str(channel_id), None)
    saves = session.execute(
        sa_select(
            col(Save.item_id),
            col(Save.user_id),
            col(Save.status),
            col(Save.saved_at),
            and_(in_the_open(), done_in_the_open(Save.item_id, Save.saved_at)).label("open"),
        )
        .join(Item, col(Item.id) == col(Save.item_id))
        .where(col(Save.team_id) == team_id, col(Save.saved_at) >= since)
    )
    for item_id, user_id, status, at, in_open in saves:
        item, user, when = int(item_id), str(user_id), _aware(at)
        own.acts.setdefault(user, []).append((item, "done" if status == "done" else "saved", when))
        if in_open:
            found.saves.append((item, user, when))
    _list_additions(session, team_id=team_id, since=since, into=found)
    return found, own


def own_activity(
    session: Session, *, team_id: str, users: list[str] | None, since: datetime, shares_and_saves: bool = True
) -> Own:
    """What each of `users` (None: everyone) did since `since`, in private too, and their settings
    (without their shares and saves when `shares_and_saves` is False: `workspace_since` reads them)."""
    own = Own()

    def add(user: str, item_id: int, what: str, at: datetime) -> None:
        own.acts.setdefault(user, []).append((item_id, what, _aware(at)))

    chunks: list[list[str] | None] = [None] if users is None else list(chunked(users))
    for chunk_of in chunks:

        def whose(column: Any, chunk: list[str] | None = chunk_of) -> list[ColumnElement[bool]]:
            return [] if chunk is None else [one_of(session, column, chunk)]

        if shares_and_saves:
            for item_id, user_id, at in session.execute(
                sa_select(col(Share.item_id), col(Share.user_id), col(Share.shared_at)).where(
                    col(Share.team_id) == team_id, col(Share.shared_at) >= since, *whose(col(Share.user_id))
                )
            ):
                add(str(user_id), int(item_id), "shared", at)
            for item_id, user_id, status, at in session.execute(
                sa_select(col(Save.item_id), col(Save.user_id), col(Save.status), col(Save.saved_at)).where(
                    col(Save.team_id) == team_id, col(Save.saved_at) >= since, *whose(col(Save.user_id))
                )
            ):
                add(str(user_id), int(item_id), "done" if status == "done" else "saved", at)
        for column, what in ((Recommendation.from_user_id, "sent"), (Recommendation.to_user_id, "received")):
            for item_id, user_id, at in session.execute(
                sa_select(col(Recommendation.item_id), col(column), col(Recommendation.created_at)).where(
                    col(Recommendation.team_id) == team_id,
                    col(Recommendation.created_at) >= since,
                    *whose(col(column)),
                )
            ):
                add(str(user_id), int(item_id), what, at)
        for item_id, owner, at in session.execute(  # what they put on their lists, or their lists' feeds did
            sa_select(col(ListItem.item_id), col(CuratedList.owner_id), col(ListItem.added_at))
            .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
            .where(
                col(CuratedList.team_id) == team_id, col(ListItem.added_at) >= since, *whose(col(CuratedList.owner_id))
            )
        ):
            add(str(owner), int(item_id), "listed", at)
        settings: tuple[tuple[Any, Any, Any, dict[str, set[Any]]], ...] = (
            (Dismissal.team_id, Dismissal.user_id, Dismissal.item_id, own.dismissed),
            (Interest.team_id, Interest.user_id, Interest.topic, own.interests),
            (Follow.team_id, Follow.follower_id, Follow.followee_id, own.follows),
            (Subscription.team_id, Subscription.user_id, Subscription.list_id, own.subscriptions),
        )
        for team, whose_column, value, into in settings:
            for user_id, found in session.execute(
                sa_select(col(whose_column), col(value)).where(col(team) == team_id, *whose(col(whose_column)))
            ):
                into.setdefault(str(user_id), set()).add(found)
    return own


def texts(session: Session, *, team_id: str, item_ids: Iterable[int]) -> dict[int, Text]:
    """What each item says of itself (title, description, site, kind, keywords, address): what
    anyone who may see it reads."""
    found: dict[int, Text] = {}
    columns = (Item.id, Item.title, Item.description, Item.site_name, Item.kind, Item.keywords, Item.url)
    for chunk in chunked(sorted(set(item_ids))):
        rows = session.execute(
            sa_select(*[col(c) for c in columns]).where(
                col(Item.team_id) == team_id, one_of(session, col(Item.id), chunk)
            )
        )
        for item_id, title, description, site, kind, keywords, url in rows:
            found[int(item_id)] = Text(title, description, site, str(kind), keywords, url)
    return found


def open_topics(session: Session, *, team_id: str, item_ids: Iterable[int]) -> dict[int, set[str]]:
    """The topics given to each item in the open (never a tag written in private)."""
    found: dict[int, set[str]] = {}
    for chunk in chunked(sorted(set(item_ids))):
        for item_id, tag in session.execute(
            sa_select(col(ItemTag.item_id), col(ItemTag.tag)).where(
                col(ItemTag.team_id) == team_id,
                one_of(session, col(ItemTag.item_id), chunk),
                col(ItemTag.removed).is_(False),
                tag_seen_by(None),
            )
        ):
            found.setdefault(int(item_id), set()).add(str(tag))
    return found


def channel_names(session: Session, *, team_id: str, channel_ids: Iterable[str]) -> dict[str, str]:
    """The names of those of `channel_ids` that are public (a reason may name them)."""
    found: dict[str, str] = {}
    for chunk in chunked(sorted(set(channel_ids))):
        for channel_id, name in session.execute(
            sa_select(col(Channel.channel_id), col(Channel.name)).where(
                col(Channel.team_id) == team_id, one_of(session, col(Channel.channel_id), chunk), channel_in_the_open()
            )
        ):
            if name:
                found[str(channel_id)] = str(name)
    return found


def still_in_the_open(session: Session, *, team_id: str, item_ids: Iterable[int]) -> set[int]:
    """Which of `item_ids` are in the open in this workspace now (a cached pick is checked again)."""
    found: set[int] = set()
    for chunk in chunked(sorted(set(item_ids))):
        found |= {
            int(item_id)
            for (item_id,) in session.execute(
                sa_select(col(Item.id)).where(
                    col(Item.team_id) == team_id, one_of(session, col(Item.id), chunk), in_the_open()
                )
            )
        }
    return found


def public_shares(session: Session, *, team_id: str, item_ids: Iterable[int]) -> set[tuple[int, str, str]]:
    """(item, sharer, channel) of the shares of `item_ids` anyone may know of now."""
    found: set[tuple[int, str, str]] = set()
    for chunk in chunked(sorted(set(item_ids))):
        for item_id, user_id, channel_id in session.execute(
            sa_select(col(Share.item_id), col(Share.user_id), col(Share.channel_id)).where(
                col(Share.team_id) == team_id, one_of(session, col(Share.item_id), chunk), share_in_the_open()
            )
        ):
            found.add((int(item_id), str(user_id), str(channel_id)))
    return found


# -- Not for me --------------------------------------------------------------------------------------


def dismiss(session: Session, *, team_id: str, user_id: str, item_id: int, now: datetime) -> bool:
    """Remember that `user_id` waved the item off; False when they already had."""
    known = session.exec(
        select(Dismissal).where(
            Dismissal.team_id == team_id, Dismissal.user_id == user_id, Dismissal.item_id == item_id
        )
    ).first()
    if known is not None:
        return False
    try:
        with session.begin_nested():  # two presses at once: one row, and no error for the other
            session.add(Dismissal(team_id=team_id, user_id=user_id, item_id=item_id, created_at=now))
    except IntegrityError:
        return False
    return True


def dismissals(session: Session, *, team_id: str, user_id: str) -> list[tuple[int, datetime]]:
    """The items a person waved off, oldest first (for their export)."""
    rows = session.execute(
        sa_select(col(Dismissal.item_id), col(Dismissal.created_at))
        .where(col(Dismissal.team_id) == team_id, col(Dismissal.user_id) == user_id)
        .order_by(col(Dismissal.created_at), col(Dismissal.id))
    )
    return [(int(item_id), _aware(at)) for item_id, at in rows]


# -- the fitted weights ------------------------------------------------------------------------------


def stored_model(session: Session, *, team_id: str) -> PickModel | None:
    return session.get(PickModel, team_id)


def store_model(session: Session, *, team_id: str, weights: str, examples: int, positives: int, now: datetime) -> None:
    """Keep the workspace's newest fit: a refit replaces it whole; of two at once, one wins whole."""
    values: dict[str, Any] = {"weights": weights, "examples": examples, "positives": positives, "fitted_at": now}
    row = session.get(PickModel, team_id, with_for_update=True)
    if row is not None:
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.flush()
        return
    try:
        with session.begin_nested():
            session.add(
                PickModel(team_id=team_id, weights=weights, examples=examples, positives=positives, fitted_at=now)
            )
    except IntegrityError:  # another process stored its fit first: this one replaces it
        session.execute(
            update(PickModel)
            .where(col(PickModel.team_id) == team_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def refit_failed(session: Session, *, team_id: str, now: datetime, every: timedelta) -> None:
    """A claimed refit failed: due again at once (its weights, if any, stay as they were)."""
    session.execute(
        update(PickModel)
        .where(col(PickModel.team_id) == team_id, col(PickModel.fitted_at) == now)
        .values(fitted_at=now - every)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def claim_refit(session: Session, *, team_id: str, now: datetime, every: timedelta) -> bool:
    """Take the workspace's refit, due `every` after the last: of several processes, one does it.
    A workspace never fitted gets default weights at once, replaced when the fit is stored."""
    if session.get(PickModel, team_id) is None:
        try:
            with session.begin_nested():
                session.add(PickModel(team_id=team_id, weights="{}", examples=0, positives=0, fitted_at=now))
        except IntegrityError:  # another process took it first
            session.rollback()
            return False
        session.commit()
        return True
    taken = session.execute(
        update(PickModel)
        .where(col(PickModel.team_id) == team_id, col(PickModel.fitted_at) <= now - every)
        .values(fitted_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(taken, "rowcount", 0) or 0) == 1
