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


def _shared_by(user_id: str) -> Exists:
    own = aliased(Share)  # its own alias: the outer query may be over shares too
    return exists().where(col(own.item_id) == col(Item.id), col(own.user_id) == user_id)


def from_followed(
    *, session: Session, team_id: str, user_id: str, since: datetime, limit: int
) -> list[tuple[Item, str]]:
    """What people the person follows shared in public or saved since `since`."""
    followed = select(Follow.followee_id).where(Follow.team_id == team_id, Follow.follower_id == user_id)
    shares = (
        select(Item, Share.user_id, Share.shared_at.label("at"))  # type: ignore[attr-defined]
        .join(Share, col(Share.item_id) == col(Item.id))
        .where(
            Share.team_id == team_id,
            col(Share.user_id).in_(followed),
            col(Share.shared_at) >= since,
            col(Share.is_private).is_(False),
        )
    )
    saves = (
        select(Item, Save.user_id, Save.saved_at.label("at"))  # type: ignore[attr-defined]
        .join(Save, col(Save.item_id) == col(Item.id))
        .where(Save.team_id == team_id, col(Save.user_id).in_(followed), col(Save.saved_at) >= since)
    )
    found: dict[int, tuple[Item, str, datetime]] = {}
    for statement, verb in ((shares, "shared"), (saves, "saved")):
        statement = statement.where(col(Item.is_public), ~_shared_by(user_id))
        for item, who, at in session.exec(statement.order_by(col(Item.id).desc()).limit(limit * 4)):
            if item.id not in found or at > found[item.id][2]:
                found[item.id or 0] = (item, f"{verb} by <@{who}>", at)
    ranked = sorted(found.values(), key=lambda found_item: found_item[2], reverse=True)
    return [(item, why) for item, why, _ in ranked[:limit]]


def top_in_interests(
    *, session: Session, team_id: str, user_id: str, topics: list[str], since: datetime, limit: int
) -> list[tuple[Item, str]]:
    """Public items of the week in the person's topics, by how many different people took to them."""
    if not topics:
        return []
    activity = union(
        select(col(Share.item_id).label("item_id"), col(Share.user_id).label("user_id")).where(
            Share.team_id == team_id, col(Share.shared_at) >= since, col(Share.is_private).is_(False)
        ),
        select(col(Save.item_id), col(Save.user_id)).where(Save.team_id == team_id, col(Save.saved_at) >= since),
        select(col(Recommendation.item_id), col(Recommendation.from_user_id)).where(
            Recommendation.team_id == team_id, col(Recommendation.created_at) >= since
        ),
    ).subquery()
    people_count = func.count(func.distinct(activity.c.user_id)).label("people")
    in_topics = exists().where(
        col(ItemTag.item_id) == col(Item.id), col(ItemTag.tag).in_(topics), col(ItemTag.removed).is_(False)
    )
    statement = (
        select(Item, people_count)
        .join(activity, activity.c.item_id == col(Item.id))
        .where(col(Item.team_id) == team_id, col(Item.is_public), in_topics, ~_shared_by(user_id))
        .group_by(col(Item.id))
        .order_by(people_count.desc(), col(Item.id).desc())
        .limit(limit)
    )
    return [(item, f"{n} {'person' if n == 1 else 'people'}") for item, n in session.exec(statement)]


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
