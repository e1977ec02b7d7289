"""Recommendations: who sent what to whom, the DM that carried it, and what the recipient did."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import items as item_store
from storage.claims import unclaimed
from storage.models import Item, Recommendation, Share
from storage.visibility import share_in_the_open


def find(*, session: Session, team_id: str, item_id: int, from_user: str, to_user: str) -> Recommendation | None:
    statement = select(Recommendation).where(
        Recommendation.team_id == team_id,
        Recommendation.item_id == item_id,
        Recommendation.from_user_id == from_user,
        Recommendation.to_user_id == to_user,
    )
    return session.exec(statement).first()


def record(
    *, session: Session, team_id: str, item: Item, from_user: str, to_users: list[str], note: str | None, now: datetime
) -> list[tuple[Recommendation, bool]]:
    """One recommendation per recipient, each with whether it is new: the same item from the same
    person to the same recipient stays one, also when both are sent at once."""
    assert item.id is not None
    recorded = []
    for to_user in dict.fromkeys(to_users):
        existing = find(session=session, team_id=team_id, item_id=item.id, from_user=from_user, to_user=to_user)
        if existing is not None:
            recorded.append((existing, False))
            continue
        created = Recommendation(
            team_id=team_id, item_id=item.id, from_user_id=from_user, to_user_id=to_user, note=note, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(created)
        except IntegrityError:  # the same recommendation, sent twice at once
            found = find(session=session, team_id=team_id, item_id=item.id, from_user=from_user, to_user=to_user)
            assert found is not None
            recorded.append((found, False))
            continue
        recorded.append((created, True))
    session.commit()
    return recorded


def withdraw(*, session: Session, recommendation_ids: list[int]) -> None:
    """Take back recommendations whose DM never went out (the recipient turned out not to be a
    colleague): nothing of them remains."""
    if recommendation_ids:
        session.execute(
            delete(Recommendation).where(
                col(Recommendation.id).in_(recommendation_ids), col(Recommendation.dm_ts).is_(None)
            )
        )
        session.commit()


def with_item(*, session: Session, recommendation_id: int) -> tuple[Recommendation, Item] | None:
    """A recommendation and the item it is about."""
    statement = (
        select(Recommendation, Item)
        .join(Item, col(Item.id) == col(Recommendation.item_id))
        .where(col(Recommendation.id) == recommendation_id)
    )
    found = session.exec(statement).first()
    return (found[0], found[1]) if found else None


def respond(
    *,
    session: Session,
    recommendation: Recommendation,
    item: Item,
    action: str,
    now: datetime,
    notice_due_at: datetime,
) -> Recommendation:
    """The recipient pressed Save, Done or Thanks: Save and Done put the item on their shelf (Done
    also marks it read), and the recommender's notice is scheduled if it is not yet."""
    if action in ("save", "done"):
        save, _ = item_store.save_item(
            session=session,
            team_id=recommendation.team_id,
            user_id=recommendation.to_user_id,
            item=item,
            source="recommendation",
            now=now,
        )
        recommendation.saved_at = recommendation.saved_at or now
        if action == "done":
            save.status, save.done_at = "done", save.done_at or now
            session.add(save)
            recommendation.done_at = recommendation.done_at or now
    elif action == "thanks":
        recommendation.thanked_at = recommendation.thanked_at or now
    else:
        raise ValueError(action)
    if recommendation.notified_at is None and recommendation.notice_due_at is None:
        recommendation.notice_due_at = notice_due_at
    session.add(recommendation)
    session.commit()
    return recommendation


def claim_dm(*, session: Session, recommendation_id: int, now: datetime, lease: timedelta, holder: str) -> bool:
    """Take the sending of a recommendation's DM: False when it went out already, or another
    process is sending it (a process that died holding it loses it; see storage.claims)."""
    result = session.execute(
        update(Recommendation)
        .where(
            col(Recommendation.id) == recommendation_id,
            col(Recommendation.dm_ts).is_(None),
            unclaimed(Recommendation, now),
        )
        .values(claimed_until=now + lease, claimed_by=holder)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_dm(*, session: Session, recommendation_id: int) -> None:
    """The DM was not sent (Slack refused it): free for the next attempt."""
    session.execute(
        update(Recommendation)
        .where(col(Recommendation.id) == recommendation_id)
        .values(claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def record_dm(*, session: Session, recommendation_id: int, channel: str | None, ts: str | None) -> None:
    """Where the recommendation's DM went, so its buttons can update it and it is never sent twice."""
    session.execute(
        update(Recommendation)
        .where(col(Recommendation.id) == recommendation_id)
        .values(dm_channel=channel, dm_ts=ts, claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def claim_notice(*, session: Session, recommendation_id: int, now: datetime, lease: timedelta) -> bool:
    """Take the sending of a due notice by moving its due time `lease` ahead: False when another
    process took it first. A process that dies before `mark_notified` leaves it due again then."""
    result = session.execute(
        update(Recommendation)
        .where(
            col(Recommendation.id) == recommendation_id,
            col(Recommendation.notified_at).is_(None),
            col(Recommendation.notice_due_at) <= now,
        )
        .values(notice_due_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_notified(*, session: Session, recommendation_id: int, now: datetime) -> None:
    session.execute(
        update(Recommendation)
        .where(col(Recommendation.id) == recommendation_id)
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def due_notices(*, session: Session, now: datetime, limit: int = 200) -> list[tuple[Recommendation, Item]]:
    """Recommendations whose recommender is due to hear what the recipient did."""
    statement = (
        select(Recommendation, Item)
        .join(Item, col(Item.id) == col(Recommendation.item_id))
        .where(col(Recommendation.notice_due_at) <= now, col(Recommendation.notified_at).is_(None))
        .order_by(col(Recommendation.notice_due_at))
        .limit(limit)
    )
    return [(rec, item) for rec, item in session.exec(statement)]


def undelivered(*, session: Session, older_than: datetime, limit: int = 200) -> list[Recommendation]:
    """Recommendations whose DM never went out (a crash, Slack away): sent again by the scheduler."""
    statement = (
        select(Recommendation)
        .where(col(Recommendation.dm_ts).is_(None), col(Recommendation.created_at) <= older_than)
        .order_by(col(Recommendation.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def people_known_to_have(*, session: Session, item_id: int, asker: str) -> set[str]:
    """Who `asker` may know already has the item: who shared it in the open, and whom they sent it
    to. Saves and private shares are nobody else's business, so they are not asked about (a
    colleague left out of a list of suggestions would say as much)."""
    have: set[str] = set(session.exec(select(Share.user_id).where(Share.item_id == item_id, share_in_the_open())))
    have |= set(
        session.exec(
            select(Recommendation.to_user_id).where(
                Recommendation.item_id == item_id, Recommendation.from_user_id == asker
            )
        )
    )
    return have


def sent_by(*, session: Session, team_id: str, user_id: str) -> list[tuple[Recommendation, Item]]:
    return _with_items(session, team_id, col(Recommendation.from_user_id) == user_id)


def received_by(*, session: Session, team_id: str, user_id: str) -> list[tuple[Recommendation, Item]]:
    return _with_items(session, team_id, col(Recommendation.to_user_id) == user_id)


def _with_items(session: Session, team_id: str, whose: ColumnElement[bool]) -> list[tuple[Recommendation, Item]]:
    """A workspace's recommendations that `whose` picks, with their items, oldest first."""
    statement = (
        select(Recommendation, Item)
        .join(Item, col(Item.id) == col(Recommendation.item_id))
        .where(Recommendation.team_id == team_id, whose)
        .order_by(col(Recommendation.created_at), col(Recommendation.id))
    )
    return [(rec, item) for rec, item in session.exec(statement)]
