"""Queries behind the weekly digest: who gets one, what goes in it, and the once-a-week delivery claim."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, null, or_, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.activity import recent_activity
from storage.claims import unclaimed
from storage.db import chunked, one_of
from storage.models import (
    DigestDelivery,
    Follow,
    Interest,
    Item,
    ItemTag,
    Person,
    Recommendation,
    Save,
    Share,
    Subscription,
)
from storage.types import UTCDateTime
from storage.visibility import in_the_open, tag_seen_by


def candidates(*, session: Session, team_id: str) -> dict[str, datetime]:
    """People with something a digest could hold (interests, subscriptions, follows, saves or
    recommendations received) or who took part (shared, recommended: their picks come from it),
    each with when they first had any. People who turned their digest off are left out."""
    everyone = union_all(
        select(col(Interest.user_id).label("user_id"), col(Interest.created_at).label("at")).where(
            Interest.team_id == team_id
        ),
        select(col(Subscription.user_id), col(Subscription.created_at)).where(Subscription.team_id == team_id),
        select(col(Follow.follower_id), col(Follow.created_at)).where(Follow.team_id == team_id),
        select(col(Save.user_id), col(Save.saved_at)).where(Save.team_id == team_id),
        select(col(Recommendation.to_user_id), col(Recommendation.created_at)).where(Recommendation.team_id == team_id),
        select(col(Recommendation.from_user_id), col(Recommendation.created_at)).where(
            Recommendation.team_id == team_id
        ),
        select(col(Share.user_id), col(Share.shared_at)).where(Share.team_id == team_id),
    ).subquery()
    off = select(Person.user_id).where(Person.team_id == team_id, col(Person.digest_enabled).is_(False))
    statement = (
        sa_select(everyone.c.user_id, func.min(everyone.c.at))
        .where(everyone.c.user_id.not_in(off))
        .group_by(everyone.c.user_id)
        .order_by(everyone.c.user_id)
    )
    return {str(user): first for user, first in session.execute(statement)}


def with_own_schedule(*, session: Session, team_id: str) -> list[Person]:
    """People who chose their own digest day or time and still get a digest."""
    statement = select(Person).where(
        Person.team_id == team_id,
        col(Person.digest_enabled).is_(True),
        or_(col(Person.digest_day).is_not(None), col(Person.digest_time).is_not(None)),
    )
    return list(session.exec(statement))


def people(*, session: Session, team_id: str, user_ids: list[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for chunk in chunked(user_ids):
        for person in session.exec(
            select(Person).where(Person.team_id == team_id, one_of(session, col(Person.user_id), chunk))
        ):
            found[person.user_id] = person
    return found


def interests(*, session: Session, team_id: str, users: list[str]) -> dict[str, list[str]]:
    """Each person's interests, in the order they gave them."""
    found: dict[str, list[str]] = {}
    for chunk in chunked(users):
        statement = (
            select(Interest.user_id, Interest.topic)
            .where(Interest.team_id == team_id, one_of(session, col(Interest.user_id), chunk))
            .order_by(col(Interest.id))
        )
        for user_id, topic in session.execute(statement):
            found.setdefault(str(user_id), []).append(str(topic))
    return found


# -- the week's top items ----------------------------------------------------------------------------


def weekly_top(
    *, session: Session, team_id: str, since: datetime, per_topic: int = 40
) -> dict[str, list[tuple[int, int]]]:
    """For each topic, its public items of the week by how many different people shared (in public),
    saved or recommended them: topic -> [(item id, people)], best first. Computed once per pass."""
    activity = recent_activity(team_id, since)
    counted = (
        select(activity.c.item_id, func.count(func.distinct(activity.c.user_id)).label("people"))
        .group_by(activity.c.item_id)
        .subquery()
    )
    place = func.row_number().over(
        partition_by=col(ItemTag.tag), order_by=(counted.c.people.desc(), counted.c.item_id.desc())
    )
    # Each topic's best few ranked by the database: a busy week tags tens of thousands of items.
    best = (
        select(col(ItemTag.tag), counted.c.item_id, counted.c.people, place.label("place"))
        .join(counted, counted.c.item_id == col(ItemTag.item_id))
        .join(Item, col(Item.id) == counted.c.item_id)
        .where(
            col(ItemTag.removed).is_(False),
            tag_seen_by(None),
            in_the_open(),
            col(Item.team_id) == team_id,
        )
        .subquery()
    )
    statement = (
        select(best.c.tag, best.c.item_id, best.c.people)
        .where(best.c.place <= per_topic)
        .order_by(best.c.people.desc(), best.c.item_id.desc())
    )
    ranked: dict[str, list[tuple[int, int]]] = {}
    for tag, item_id, people_count in session.execute(statement):
        ranked.setdefault(str(tag), []).append((int(item_id), int(people_count)))
    return ranked


# -- the delivery claim -----------------------------------------------------------------------------

FINAL = ("sent", "skipped", "sending")  # deliveries a pass never touches again


def settled(*, session: Session, team_id: str, slots: dict[str, datetime], max_attempts: int) -> set[str]:
    """People whose delivery for their slot is already settled (sent, skipped, being sent, or
    refused by Slack `max_attempts` times), read in one query per distinct slot."""
    by_slot: dict[datetime, list[str]] = {}
    for user, slot in slots.items():
        by_slot.setdefault(slot, []).append(user)
    found: set[str] = set()
    for slot, users in by_slot.items():
        for chunk in chunked(users):
            statement = select(DigestDelivery.user_id).where(
                DigestDelivery.team_id == team_id,
                DigestDelivery.slot_at == slot,
                one_of(session, col(DigestDelivery.user_id), chunk),
                or_(
                    col(DigestDelivery.status).in_(FINAL),
                    and_(col(DigestDelivery.status) == "failed", col(DigestDelivery.attempts) >= max_attempts),
                ),
            )
            found |= set(session.exec(statement))
    return found


def claim(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    slot_at: datetime,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
    holder: str | None = None,
) -> DigestDelivery | None:
    """Take the person's digest for this slot, or None when it is sent, skipped, or someone else's.

    The unique (team, person, slot) row makes the claim: only one process inserts it. A claim whose
    process died before sending (still `claimed`, and its holder gone or its lease run out), or a
    send Slack refused (`failed`), is taken over with a compare-and-set update, so two processes
    never both win.
    """
    row = DigestDelivery(
        team_id=team_id,
        user_id=user_id,
        slot_at=slot_at,
        status="claimed",
        claimed_until=now + lease,
        claimed_by=holder,
        created_at=now,
    )
    session.add(row)
    try:
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
            and_(col(DigestDelivery.status) == "claimed", unclaimed(DigestDelivery, now)),
            col(DigestDelivery.status) == "failed",
        ),
    )
    result = session.execute(
        update(DigestDelivery)
        .where(retake)
        .values(status="claimed", claimed_until=now + lease, claimed_by=holder)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    session.refresh(existing)
    return existing


def mark(
    connection: Connection,
    *,
    delivery_id: int,
    status: str,
    now: datetime,
    error: str | None = None,
    ts: str | None = None,
) -> None:
    """Record how a claimed delivery ended (sent, failed) or that it is about to be sent, on a plain connection."""
    values: dict[str, object] = {"status": status, "error": error[:512] if error else None}
    if status in ("sent", "failed"):
        values["attempts"] = DigestDelivery.attempts + 1  # type: ignore[operator]
    if status == "sent":
        values.update(sent_at=now, message_ts=ts)
    if status != "sending":
        values["claimed_until"] = None
    connection.execute(update(DigestDelivery).where(col(DigestDelivery.id) == delivery_id).values(**values))


_ROW = DigestDelivery.__table__.c  # type: ignore[attr-defined]
_IS_NEXT = _ROW.id == bindparam("next_id")
# Still this pass's claim: a claim whose lease ran out may have been taken over by another process,
# which then sends that digest itself. The lease's end, the same for all of one pass's claims, tells.
_STILL_OURS = and_(_IS_NEXT, _ROW.status == "claimed", _ROW.claimed_until == bindparam("lease", type_=UTCDateTime))
# Built once: `advance` runs once per digest of a bulk send, and composing the statement each time
# cost more than the database's work.
_START = update(DigestDelivery.__table__).where(_STILL_OURS).values(status="sending")  # type: ignore[attr-defined]
_ADVANCE = (
    update(DigestDelivery.__table__)  # type: ignore[attr-defined]
    .where(or_(_ROW.id == bindparam("sent_id"), _STILL_OURS))
    .values(
        status=case((_IS_NEXT, "sending"), else_="sent"),
        error=None,
        attempts=case((_IS_NEXT, _ROW.attempts), else_=_ROW.attempts + 1),
        sent_at=case((_IS_NEXT, _ROW.sent_at), else_=bindparam("sent_now", type_=UTCDateTime)),
        message_ts=case((_IS_NEXT, _ROW.message_ts), else_=bindparam("sent_ts", type_=_ROW.message_ts.type)),
        claimed_until=case((_IS_NEXT, _ROW.claimed_until), else_=null()),
    )
)


def advance(
    connection: Connection, *, sending: int, lease: datetime, sent: tuple[int, str | None] | None, now: datetime
) -> bool:
    """Mark digest `sending` as about to be sent, if it is still claimed with the lease ending at
    `lease`, and record the previous one, `sent` (id, message ts), as sent. False when the claim was
    lost: the caller must not send. One UPDATE: a single statement is atomic without a transaction
    around it, so on a connection in autocommit mode each digest of a bulk send costs one round trip."""
    if sent is None:
        return connection.execute(_START, {"next_id": sending, "lease": lease}).rowcount == 1
    values = {"sent_id": sent[0], "next_id": sending, "lease": lease, "sent_now": now, "sent_ts": sent[1]}
    return connection.execute(_ADVANCE, values).rowcount == 2


def claim_many(
    *,
    session: Session,
    team_id: str,
    slots: dict[str, datetime],
    now: datetime,
    lease: timedelta,
    holder: str | None = None,
) -> dict[str, int]:
    """Claim many people's digests at once: person -> delivery id, for the rows this call inserted.

    INSERT … ON CONFLICT DO NOTHING RETURNING: a row another process inserted first is simply not
    returned. Rows left over from earlier attempts are taken over one by one with `claim`. The
    statement is compiled once and run for all rows (SQLAlchemy batches them into multi-row inserts).
    """
    if not slots:
        return {}
    insert_for = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    table = DigestDelivery.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(table)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "slot_at"])
        .returning(table.c.user_id, table.c.id)
    )
    rows = [
        {
            "team_id": team_id,
            "user_id": user,
            "slot_at": slot,
            "status": "claimed",
            "claimed_until": now + lease,
            "claimed_by": holder,
            "attempts": 0,
            "created_at": now,
        }  # fmt: skip
        for user, slot in slots.items()
    ]
    claimed = {str(user): int(id_) for user, id_ in session.connection().execute(statement, rows)}
    session.commit()
    return claimed


def skip_many(*, session: Session, delivery_ids: list[int]) -> None:
    """Record empty digests as skipped, in one statement."""
    for chunk in chunked(delivery_ids):
        session.execute(
            update(DigestDelivery)
            .where(one_of(session, col(DigestDelivery.id), chunk))
            .values(status="skipped", claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()
