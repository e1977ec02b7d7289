"""What "Picked for you" learns from, read for a whole workspace at once, through the one rule.

`workspace_facts` reads every share, save, recommendation and list entry of the last half year
as columns of numbers (a busy workspace holds hundreds of thousands), and marks which were done in
the open: public shares of items in the open, and saves made once their item was in the open
(storage.visibility.done_in_the_open). Those are what colleagues' picks may learn from: who saves
what, what is popular, who shares what where. Everything else a person did, in private too,
shapes only that person's own picks; `taken_since` reads one person's, to check a cached pick.

Candidates are only items in the open, so nothing private is ever picked for anyone.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, DateTime, and_, type_coerce, update
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


class Text(NamedTuple):
    title: str | None
    description: str | None
    site_name: str | None
    kind: str
    keywords: str | None = None
    url: str | None = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Facts:
    """A workspace's activity since some instant, as columns of numbers (people and channels by
    code): a busy workspace's half year holds hundreds of thousands of rows, and one Python object
    per row would cost several times their memory.

    - shares: item, person, channel, when, and whether the share is in the open;
    - saves: item, person, when, whether made in the open, and whether marked done;
    - recommendations: item, sender, receiver, when;
    - listed: items on a person's own lists (item, owner, when);
    - additions: list additions of items in the open (item, list, when), with `list_names`;
    - each person's settings and Not for me marks (small: a few per person).
    """

    def __init__(self) -> None:
        self.people: dict[str, int] = {}  # user -> code, in order of first sight
        self.channels: dict[str, int] = {}
        self.shares = _Columns("item", "person", "channel", "at", "open")
        self.saves = _Columns("item", "person", "at", "open", "done")
        self.recommendations = _Columns("item", "sender", "receiver", "at")
        self.listed = _Columns("item", "owner", "at")
        self.additions = _Columns("item", "list", "at")
        self.list_names: dict[int, str] = {}
        self.dismissed: dict[str, set[int]] = {}
        self.interests: dict[str, set[str]] = {}
        self.follows: dict[str, set[str]] = {}
        self.subscriptions: dict[str, set[int]] = {}

    def person(self, user: str) -> int:
        return self.people.setdefault(user, len(self.people))

    def channel(self, channel_id: str) -> int:
        return self.channels.setdefault(channel_id, len(self.channels))


class _Columns:
    """Rows appended as numbers, read back as one array per column."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self._values: list[array[float]] = [array("d") for _ in names]

    def add(self, *row: float) -> None:
        for values, value in zip(self._values, row, strict=True):
            values.append(value)

    def extend(self, *columns: Iterable[float]) -> None:
        """Many rows at once, given as one iterable per column."""
        for values, column in zip(self._values, columns, strict=True):
            values.extend(column)

    def __len__(self) -> int:
        return len(self._values[0])

    def __getitem__(self, name: str) -> array[float]:
        return self._values[self.names.index(name)]


_EPOCH = datetime(1970, 1, 1)


def _naive(column: Any) -> Any:
    """A UTC column read as the naive UTC value it is stored as: a bulk read turns each into
    seconds at once (`_stamps`), and attaching a zone to each first doubles the cost."""
    return type_coerce(col(column), DateTime())


def _stamps(values: Iterable[datetime]) -> list[float]:
    """Seconds since the epoch of naive UTC datetimes."""
    return [(value - _EPOCH).total_seconds() for value in values]


def _rows(result: Any, size: int = 20_000) -> Iterator[list[list[Any]]]:
    """A result's columns, a few thousand rows at a time (never the whole result in memory)."""
    while rows := result.fetchmany(size):
        yield [list(column) for column in zip(*rows, strict=True)]


def workspace_facts(session: Session, *, team_id: str, since: datetime) -> Facts:
    """Everything picking reads of a workspace's people since `since`: every share and save (and
    which of them were done in the open, worked out in the same read), recommendations, list
    entries, and everyone's settings. Read a few thousand rows at a time, kept as columns of numbers."""
    facts = Facts()
    connection = session.connection()
    person, channel = facts.person, facts.channel
    shares = connection.execute(
        sa_select(
            col(Share.item_id),
            col(Share.user_id),
            col(Share.channel_id),
            _naive(Share.shared_at),
            and_(share_in_the_open(), in_the_open()).label("open"),
        )
        .join(Item, col(Item.id) == col(Share.item_id))
        .where(col(Share.team_id) == team_id, col(Share.shared_at) >= since)
        .order_by(col(Share.shared_at), col(Share.id))
    )
    for item_id, user_id, channel_id, at, in_open in _rows(shares):
        facts.shares.extend(item_id, map(person, user_id), map(channel, channel_id), _stamps(at), map(bool, in_open))
    saves = connection.execute(
        sa_select(
            col(Save.item_id),
            col(Save.user_id),
            _naive(Save.saved_at),
            and_(in_the_open(), done_in_the_open(Save.item_id, Save.saved_at)).label("open"),
            col(Save.status) == "done",
        )
        .join(Item, col(Item.id) == col(Save.item_id))
        .where(col(Save.team_id) == team_id, col(Save.saved_at) >= since)
    )
    for item_id, user_id, at, in_open, done in _rows(saves):
        facts.saves.extend(item_id, map(person, user_id), _stamps(at), map(bool, in_open), map(bool, done))
    sent = connection.execute(
        sa_select(
            col(Recommendation.item_id),
            col(Recommendation.from_user_id),
            col(Recommendation.to_user_id),
            _naive(Recommendation.created_at),
        ).where(col(Recommendation.team_id) == team_id, col(Recommendation.created_at) >= since)
    )
    for item_id, sender, receiver, at in _rows(sent):
        facts.recommendations.extend(item_id, map(person, sender), map(person, receiver), _stamps(at))
    listed = connection.execute(  # what they put on their lists, or their lists' feeds did
        sa_select(col(ListItem.item_id), col(CuratedList.owner_id), _naive(ListItem.added_at))
        .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
        .where(col(CuratedList.team_id) == team_id, col(ListItem.added_at) >= since)
    )
    for item_id, owner, at in _rows(listed):
        facts.listed.extend(item_id, map(person, owner), _stamps(at))
    additions = connection.execute(
        sa_select(col(ListItem.item_id), col(ListItem.list_id), _naive(ListItem.added_at), col(CuratedList.name))
        .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
        .join(Item, col(Item.id) == col(ListItem.item_id))
        .where(col(CuratedList.team_id) == team_id, col(ListItem.added_at) >= since, in_the_open())
        .order_by(col(ListItem.added_at), col(ListItem.id))
    )
    for item_id, list_id, at, name in _rows(additions):
        facts.additions.extend(item_id, list_id, _stamps(at))
        facts.list_names.update(zip(map(int, list_id), map(str, name), strict=True))
    _settings(session, team_id=team_id, into=facts)
    return facts


def _settings(session: Session, *, team_id: str, into: Facts) -> None:
    """Everyone's Not for me marks, interests, follows and subscriptions."""
    settings: tuple[tuple[Any, Any, Any, dict[str, set[Any]]], ...] = (
        (Dismissal.team_id, Dismissal.user_id, Dismissal.item_id, into.dismissed),
        (Interest.team_id, Interest.user_id, Interest.topic, into.interests),
        (Follow.team_id, Follow.follower_id, Follow.followee_id, into.follows),
        (Subscription.team_id, Subscription.user_id, Subscription.list_id, into.subscriptions),
    )
    for team, whose, value, found in settings:
        for user_id, setting in session.connection().execute(
            sa_select(col(whose), col(value)).where(col(team) == team_id)
        ):
            found.setdefault(str(user_id), set()).add(setting)


def taken_since(session: Session, *, team_id: str, user_id: str, since: datetime) -> set[int]:
    """The items one person shared, saved, recommended, was sent or put on a list of theirs since
    `since`, in private too, and those they waved off (a cached pick is checked against them)."""
    taken: set[int] = set()
    reads: tuple[tuple[Any, Any, Any], ...] = (
        (Share, Share.user_id, Share.shared_at),
        (Save, Save.user_id, Save.saved_at),
        (Recommendation, Recommendation.from_user_id, Recommendation.created_at),
        (Recommendation, Recommendation.to_user_id, Recommendation.created_at),
    )
    for model, whose, when in reads:
        taken.update(
            session.execute(
                sa_select(col(model.item_id)).where(
                    col(model.team_id) == team_id, col(whose) == user_id, col(when) >= since
                )
            ).scalars()
        )
    taken.update(
        session.execute(
            sa_select(col(ListItem.item_id))
            .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
            .where(
                col(CuratedList.team_id) == team_id,
                col(CuratedList.owner_id) == user_id,
                col(ListItem.added_at) >= since,
            )
        ).scalars()
    )
    taken.update(item_id for item_id, _ in dismissals(session, team_id=team_id, user_id=user_id))
    return {int(item_id) for item_id in taken}


RUN = 20_000  # ids read together by range where they are dense


def _by_id(session: Session, column: Any, item_ids: Iterable[int]) -> Iterator[tuple[ColumnElement[bool], set[int]]]:
    """Conditions that read rows of `item_ids` a slice at a time, each with the ids it is for: a slice
    whose ids fill at least half their range is read as that range (one query instead of many; the
    few rows between are dropped by the caller), a sparse one by id."""
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), RUN):
        run = ids[start : start + RUN]
        if run[-1] - run[0] < 2 * len(run):
            yield col(column).between(run[0], run[-1]), set(run)
        else:
            for chunk in chunked(run):
                yield one_of(session, col(column), chunk), set(chunk)


def texts(session: Session, *, team_id: str, item_ids: Iterable[int]) -> Iterator[tuple[int, Text]]:
    """What each item says of itself (title, description, site, kind, keywords, address): what
    anyone who may see it reads. In order of id, read a slice at a time."""
    for where, wanted in _by_id(session, Item.id, item_ids):
        rows = session.connection().execute(
            sa_select(
                col(Item.id),
                col(Item.title),
                col(Item.description),
                col(Item.site_name),
                col(Item.kind),
                col(Item.keywords),
                col(Item.url),
            )
            .where(col(Item.team_id) == team_id, where)
            .order_by(col(Item.id))
        )
        for item_id, title, description, site, kind, keywords, url in rows:
            if item_id in wanted:
                yield int(item_id), Text(title, description, site, str(kind), keywords, url)


def open_topics(session: Session, *, team_id: str, item_ids: Iterable[int]) -> Iterator[tuple[int, str]]:
    """(item, topic) for the topics given to each item in the open (never a tag written in private)."""
    for where, wanted in _by_id(session, ItemTag.item_id, item_ids):
        for item_id, tag in session.connection().execute(
            sa_select(col(ItemTag.item_id), col(ItemTag.tag)).where(
                col(ItemTag.team_id) == team_id, where, col(ItemTag.removed).is_(False), tag_seen_by(None)
            )
        ):
            if item_id in wanted:
                yield int(item_id), str(tag)


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
