"""Queries behind the weekly digest: who gets one, what goes in it, and the once-a-week delivery claim."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Exists, and_, exists, func, or_, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import (
    CuratedList,
    DigestDelivery,
    Follow,
    Interest,
    Item,
    ItemTag,
    ListItem,
    Person,
    Recommendation,
    Save,
    Share,
    Subscription,
)


def candidates(*, session: Session, team_id: str) -> list[str]:
    """People with something a digest could hold: interests, subscriptions, follows, saves or
    recommendations received. People who turned their digest off are left out."""
    everyone = union(
        select(Interest.user_id).where(Interest.team_id == team_id),
        select(Subscription.user_id).where(Subscription.team_id == team_id),
        select(Follow.follower_id).where(Follow.team_id == team_id),
        select(Save.user_id).where(Save.team_id == team_id),
        select(Recommendation.to_user_id).where(Recommendation.team_id == team_id),
    ).subquery()
    off = select(Person.user_id).where(Person.team_id == team_id, col(Person.digest_enabled).is_(False))
    statement = select(everyone.c[0]).where(everyone.c[0].not_in(off)).order_by(everyone.c[0])
    return [str(row[0]) for row in session.execute(statement)]


def people(*, session: Session, team_id: str, user_ids: list[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        for person in session.exec(select(Person).where(Person.team_id == team_id, col(Person.user_id).in_(chunk))):
            found[person.user_id] = person
    return found


def last_sent(*, session: Session, team_id: str, user_id: str) -> datetime | None:
    statement = select(func.max(DigestDelivery.slot_at)).where(
        DigestDelivery.team_id == team_id, DigestDelivery.user_id == user_id, DigestDelivery.status == "sent"
    )
    return session.exec(statement).one()


# -- sections ---------------------------------------------------------------------------------------


def recommended(*, session: Session, team_id: str, user_id: str, limit: int) -> list[tuple[Item, str]]:
    """Recommended to the person and not yet done, newest first, with who recommended it."""
    done = exists().where(col(Save.item_id) == col(Item.id), col(Save.user_id) == user_id, col(Save.status) == "done")
    statement = (
        select(Item, Recommendation.from_user_id)
        .join(Recommendation, col(Recommendation.item_id) == col(Item.id))
        .where(
            Recommendation.team_id == team_id,
            Recommendation.to_user_id == user_id,
            col(Recommendation.done_at).is_(None),
            ~done,
        )
        .order_by(col(Recommendation.created_at).desc())
        .limit(limit)
    )
    return [(item, f"recommended by <@{who}>") for item, who in session.exec(statement)]


def list_additions(
    *, session: Session, team_id: str, user_id: str, since: datetime, limit: int
) -> list[tuple[Item, str]]:
    """New in the lists the person subscribes to (not what they added themselves), with the list's name."""
    statement = (
        select(Item, CuratedList.name)
        .join(ListItem, col(ListItem.item_id) == col(Item.id))
        .join(CuratedList, col(CuratedList.id) == col(ListItem.list_id))
        .join(Subscription, col(Subscription.list_id) == col(CuratedList.id))
        .where(
            Subscription.team_id == team_id,
            Subscription.user_id == user_id,
            col(ListItem.added_at) >= since,
            or_(col(ListItem.added_by).is_(None), col(ListItem.added_by) != user_id),
            col(Item.is_public),
        )
        .order_by(col(ListItem.added_at).desc())
        .limit(limit)
    )
    return [(item, str(name)) for item, name in session.exec(statement)]


# Its own alias, made once (a new alias per query would defeat SQLAlchemy's statement cache):
# the outer query may be over shares too.
_OWN_SHARE = aliased(Share, name="own_share")


def _shared_by(user_id: str) -> Exists:
    return exists().where(col(_OWN_SHARE.item_id) == col(Item.id), col(_OWN_SHARE.user_id) == user_id)


def from_followed(
    *, session: Session, team_id: str, user_id: str, since: datetime, limit: int
) -> list[tuple[Item, str]]:
    """What people the person follows shared in public or saved since `since`, newest first."""
    followed = list(
        session.exec(select(Follow.followee_id).where(Follow.team_id == team_id, Follow.follower_id == user_id))
    )
    if not followed:
        return []
    recent: list[tuple[int, str, datetime]] = []
    for table, stamp, verb, extra in (
        (Share, Share.shared_at, "shared", col(Share.is_private).is_(False)),
        (Save, Save.saved_at, "saved", True),
    ):
        statement = (
            select(table.item_id, table.user_id, stamp)  # type: ignore[attr-defined]
            .where(table.team_id == team_id, col(table.user_id).in_(followed), col(stamp) >= since, extra)  # type: ignore[attr-defined]
            .order_by(col(stamp).desc())
            .limit(limit * 4)
        )
        recent += [(int(item_id), f"{verb} by <@{who}>", at) for item_id, who, at in session.execute(statement)]
    recent.sort(key=lambda row: row[2], reverse=True)
    ids = list(dict.fromkeys(item_id for item_id, _, _ in recent))
    if not ids:
        return []
    # Ids first, whole rows only for the few shown: loading every candidate row dominated a pass.
    allowed = set(session.exec(select(Item.id).where(col(Item.id).in_(ids), col(Item.is_public), ~_shared_by(user_id))))
    chosen: dict[int, str] = {}
    for item_id, why, _ in recent:
        if item_id in allowed and item_id not in chosen and len(chosen) < limit:
            chosen[item_id] = why
    return _with_items(session, chosen)


def _with_items(session: Session, reasons: dict[int, str]) -> list[tuple[Item, str]]:
    """Load the items behind `reasons` (id -> why), keeping its order."""
    if not reasons:
        return []
    loaded = {item.id: item for item in session.exec(select(Item).where(col(Item.id).in_(list(reasons))))}
    return [(loaded[item_id], why) for item_id, why in reasons.items() if item_id in loaded]


def weekly_top(
    *, session: Session, team_id: str, since: datetime, per_topic: int = 40
) -> dict[str, list[tuple[int, int]]]:
    """For each topic, its public items of the week by how many different people shared (in public),
    saved or recommended them: topic -> [(item id, people)], best first. Computed once per pass."""
    activity = union(
        select(col(Share.item_id).label("item_id"), col(Share.user_id).label("user_id")).where(
            Share.team_id == team_id, col(Share.shared_at) >= since, col(Share.is_private).is_(False)
        ),
        select(col(Save.item_id), col(Save.user_id)).where(Save.team_id == team_id, col(Save.saved_at) >= since),
        select(col(Recommendation.item_id), col(Recommendation.from_user_id)).where(
            Recommendation.team_id == team_id, col(Recommendation.created_at) >= since
        ),
    ).subquery()
    counted = (
        select(activity.c.item_id, func.count(func.distinct(activity.c.user_id)).label("people"))
        .group_by(activity.c.item_id)
        .subquery()
    )
    statement = (
        select(ItemTag.tag, counted.c.item_id, counted.c.people)
        .join(counted, counted.c.item_id == col(ItemTag.item_id))
        .join(Item, col(Item.id) == counted.c.item_id)
        .where(col(ItemTag.removed).is_(False), col(Item.is_public), col(Item.team_id) == team_id)
        .order_by(counted.c.people.desc(), counted.c.item_id.desc())
    )
    ranked: dict[str, list[tuple[int, int]]] = {}
    for tag, item_id, people_count in session.execute(statement):
        bucket = ranked.setdefault(str(tag), [])
        if len(bucket) < per_topic:
            bucket.append((int(item_id), int(people_count)))
    return ranked


def top_in_interests(
    *,
    session: Session,
    user_id: str,
    topics: list[str],
    week: dict[str, list[tuple[int, int]]],
    limit: int,
) -> list[tuple[Item, str]]:
    """The person's topics' best of the week (from `weekly_top`), without what they shared themselves."""
    scores: dict[int, int] = {}
    for topic in topics:
        for item_id, people_count in week.get(topic, []):
            scores[item_id] = max(scores.get(item_id, 0), people_count)
    if not scores:
        return []
    best = sorted(scores, key=lambda item_id: (-scores[item_id], -item_id))[: limit * 3]
    allowed = set(session.exec(select(Item.id).where(col(Item.id).in_(best), ~_shared_by(user_id))))
    chosen = [i for i in best if i in allowed][:limit]
    return _with_items(session, {i: f"{scores[i]} {'person' if scores[i] == 1 else 'people'}" for i in chosen})


def unread_saves(*, session: Session, team_id: str, user_id: str, limit: int) -> list[tuple[Item, str]]:
    """The oldest things still waiting on the person's shelf."""
    statement = (
        select(Item, Save.saved_at)
        .join(Save, col(Save.item_id) == col(Item.id))
        .where(Save.team_id == team_id, Save.user_id == user_id, Save.status == "unread")
        .order_by(col(Save.saved_at), col(Save.id))
        .limit(limit)
    )
    return [(item, "waiting on your shelf") for item, _ in session.exec(statement)]


# -- the delivery claim -----------------------------------------------------------------------------


def claim(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    slot_at: datetime,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
) -> DigestDelivery | None:
    """Take the person's digest for this slot, or None when it is sent, skipped, or someone else's.

    The unique (team, person, slot) row makes the claim: only one process inserts it. A claim whose
    process died before sending (still `claimed` after its lease), or a send Slack refused
    (`failed`), is taken over with a compare-and-set update, so two processes never both win.
    """
    row = DigestDelivery(
        team_id=team_id, user_id=user_id, slot_at=slot_at, status="claimed", claimed_until=now + lease, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
        session.commit()
        return row
    except IntegrityError:
        session.rollback()
    existing = session.exec(
        select(DigestDelivery).where(
            DigestDelivery.team_id == team_id, DigestDelivery.user_id == user_id, DigestDelivery.slot_at == slot_at
        )
    ).first()
    if existing is None or existing.attempts >= max_attempts:
        return None
    retake = and_(
        col(DigestDelivery.id) == existing.id,
        or_(
            and_(col(DigestDelivery.status) == "claimed", col(DigestDelivery.claimed_until) < now),
            col(DigestDelivery.status) == "failed",
        ),
    )
    result = session.execute(
        update(DigestDelivery)
        .where(retake)
        .values(status="claimed", claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    session.refresh(existing)
    return existing


def finish(
    *, session: Session, delivery_id: int, status: str, now: datetime, error: str | None = None, ts: str | None = None
) -> None:
    """Record how the claimed delivery ended: sending (about to call Slack), sent, skipped or failed."""
    delivery = session.get(DigestDelivery, delivery_id)
    if delivery is None:
        return
    delivery.status = status
    if status in ("sent", "failed"):
        delivery.attempts += 1
    if status == "sent":
        delivery.sent_at, delivery.message_ts = now, ts
    delivery.error = error[:512] if error else None
    delivery.claimed_until = None if status != "sending" else delivery.claimed_until
    session.add(delivery)
    session.commit()
