"""What a workspace learns, counted for `peershelf report`: public activity only.

A share counts when it was made in a public channel; a save or a recommendation when it was made
once its item was in the open (`visibility.done_in_the_open`). Nothing private is named or counted."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    CuratedList,
    Item,
    ItemTag,
    ListItem,
    Person,
    Recommendation,
    Save,
    Share,
    Subscription,
)
from storage.visibility import done_in_the_open, in_the_open, share_in_the_open, tag_seen_by


@dataclass(frozen=True)
class Week:
    start: datetime
    shares: int
    saves: int
    recommendations: int
    people: int  # different people who shared, saved or recommended that week


@dataclass(frozen=True)
class Ranked:
    title: str
    url: str
    count: int
    people: int


@dataclass(frozen=True)
class Curated:
    name: str
    curator: str
    subscribers: int
    items: int


@dataclass(frozen=True)
class Learning:
    weeks: list[Week]
    topics: list[tuple[str, int, int]]  # (topic, earlier half, later half)
    recommended: list[Ranked]
    lists: list[Curated]
    people: int  # different people who took part over the whole span


def learning(*, session: Session, team_id: str, since: datetime, weeks: int) -> Learning:
    """Week by week from `since` (a week start), `weeks` weeks."""
    until = since + timedelta(weeks=weeks)
    events = _events(session, team_id, since, until)  # (kind, when, user, item)
    by_week: dict[int, Counter[str]] = defaultdict(Counter)
    people_by_week: dict[int, set[str]] = defaultdict(set)
    for kind, when, user, _ in events:
        week = int((when - since) / timedelta(weeks=1))
        by_week[week][kind] += 1
        people_by_week[week].add(user)
    shown = [
        Week(
            since + timedelta(weeks=n),
            by_week[n]["share"],
            by_week[n]["save"],
            by_week[n]["recommendation"],
            len(people_by_week[n]),
        )  # fmt: skip
        for n in range(weeks)
    ]
    half = since + timedelta(weeks=weeks // 2 or 1)
    items_early = Counter(item for _, when, _, item in events if when < half)
    items_late = Counter(item for _, when, _, item in events if when >= half)
    return Learning(
        weeks=shown,
        topics=_topics(session, team_id, items_early, items_late),
        recommended=_most_recommended(session, team_id, since, until),
        lists=_most_subscribed(session, team_id),
        people=len({user for _, _, user, _ in events}),
    )


def _events(session: Session, team_id: str, since: datetime, until: datetime) -> list[tuple[str, datetime, str, int]]:
    shares = session.exec(
        select(Share.shared_at, Share.user_id, Share.item_id).where(
            Share.team_id == team_id,
            share_in_the_open(),
            col(Share.user_id) != "",
            col(Share.shared_at) >= since,
            col(Share.shared_at) < until,
        )  # fmt: skip
    )
    saves = session.exec(
        select(Save.saved_at, Save.user_id, Save.item_id)
        .join(Item, col(Item.id) == col(Save.item_id))
        .where(
            Save.team_id == team_id,
            in_the_open(),
            done_in_the_open(Save.item_id, Save.saved_at),
            col(Save.saved_at) >= since,
            col(Save.saved_at) < until,
        )
    )
    recommendations = session.exec(
        select(Recommendation.created_at, Recommendation.from_user_id, Recommendation.item_id)
        .join(Item, col(Item.id) == col(Recommendation.item_id))
        .where(
            Recommendation.team_id == team_id,
            in_the_open(),
            done_in_the_open(Recommendation.item_id, Recommendation.created_at),
            col(Recommendation.created_at) >= since,
            col(Recommendation.created_at) < until,
        )  # fmt: skip
    )
    return (
        [("share", when, user, item) for when, user, item in shares]
        + [("save", when, user, item) for when, user, item in saves]
        + [("recommendation", when, user, item) for when, user, item in recommendations]
    )


def _topics(
    session: Session, team_id: str, early: Counter[int], late: Counter[int], limit: int = 8
) -> list[tuple[str, int, int]]:
    """Topics by the activity on their items in the earlier and the later half of the span, the
    biggest changes first (only tags given in the open)."""
    items = set(early) | set(late)
    if not items:
        return []
    rows = session.exec(
        select(ItemTag.item_id, ItemTag.tag).where(
            ItemTag.team_id == team_id,
            col(ItemTag.item_id).in_(items),
            col(ItemTag.removed).is_(False),
            tag_seen_by(None),
        )  # fmt: skip
    )
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for item_id, tag in rows:
        before[tag] += early[item_id]
        after[tag] += late[item_id]
    topics = set(before) | set(after)
    ranked = sorted(topics, key=lambda t: (-abs(after[t] - before[t]), -(after[t] + before[t]), t))
    return [(t, before[t], after[t]) for t in ranked[:limit]]


def _most_recommended(
    session: Session, team_id: str, since: datetime, until: datetime, limit: int = 10
) -> list[Ranked]:
    count = func.count(col(Recommendation.id)).label("count")
    people = func.count(func.distinct(Recommendation.from_user_id)).label("people")
    statement = (
        select(Item, count, people)
        .join(Recommendation, col(Recommendation.item_id) == col(Item.id))
        .where(
            col(Item.team_id) == team_id,
            in_the_open(),
            done_in_the_open(Recommendation.item_id, Recommendation.created_at),
            col(Recommendation.created_at) >= since,
            col(Recommendation.created_at) < until,
        )  # fmt: skip
        .group_by(col(Item.id))
        .order_by(count.desc(), col(Item.id))
        .limit(limit)
    )
    return [Ranked(item.title or item.url, item.url, int(n), int(p)) for item, n, p in session.exec(statement)]


def _most_subscribed(session: Session, team_id: str, limit: int = 10) -> list[Curated]:
    subscribers = (
        select(col(Subscription.list_id).label("list_id"), func.count(col(Subscription.id)).label("n"))
        .where(Subscription.team_id == team_id)
        .group_by(col(Subscription.list_id))
        .subquery()
    )
    statement = (
        select(CuratedList, subscribers.c.n, Person.name)
        .join(subscribers, subscribers.c.list_id == col(CuratedList.id))
        .outerjoin(Person, (col(Person.team_id) == team_id) & (col(Person.user_id) == col(CuratedList.owner_id)))
        .where(col(CuratedList.team_id) == team_id)
        .order_by(subscribers.c.n.desc(), col(CuratedList.id))
        .limit(limit)
    )
    found = list(session.exec(statement))
    sizes = _list_sizes(session, [curated.id or 0 for curated, _, _ in found])
    return [
        Curated(curated.name, name or curated.owner_id, int(n), sizes.get(curated.id or 0, 0))
        for curated, n, name in found
    ]


def _list_sizes(session: Session, list_ids: list[int]) -> dict[int, int]:
    if not list_ids:
        return {}
    statement = (
        select(ListItem.list_id, func.count(col(ListItem.id)))
        .where(col(ListItem.list_id).in_(list_ids))
        .group_by(col(ListItem.list_id))
    )
    return {int(list_id): int(n) for list_id, n in session.exec(statement)}
