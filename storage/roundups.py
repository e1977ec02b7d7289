"""Channel roundups: which channels want one, on which day, and the last week each was posted for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Item, Roundup, Save, Share
from storage.visibility import done_in_the_open, in_the_open, share_in_the_open


def turn_on(
    *, session: Session, team_id: str, channel_id: str, weekday: int, by: str, tz: str | None, now: datetime
) -> Roundup:
    for _ in range(2):
        found = get(session=session, team_id=team_id, channel_id=channel_id)
        roundup = found or Roundup(team_id=team_id, channel_id=channel_id, created_at=now)
        if found is None or not found.enabled:
            roundup.created_at = now  # the first post comes on the first slot after this
        roundup.weekday, roundup.enabled, roundup.enabled_by, roundup.tz = weekday, True, by, tz
        session.add(roundup)
        try:
            session.commit()
            return roundup
        except IntegrityError:  # turned on by someone else at the same moment
            session.rollback()
    raise RuntimeError(f"could not record the roundup of {channel_id}")


def turn_off(*, session: Session, team_id: str, channel_id: str) -> bool:
    roundup = get(session=session, team_id=team_id, channel_id=channel_id)
    if roundup is None or not roundup.enabled:
        return False
    roundup.enabled = False
    session.add(roundup)
    session.commit()
    return True


def get(*, session: Session, team_id: str, channel_id: str) -> Roundup | None:
    statement = select(Roundup).where(Roundup.team_id == team_id, Roundup.channel_id == channel_id)
    return session.exec(statement).first()


def enabled(*, session: Session) -> list[Roundup]:
    return list(session.exec(select(Roundup).where(col(Roundup.enabled)).order_by(col(Roundup.id))))


def claim_week(*, session: Session, roundup_id: int, slot_at: datetime) -> bool:
    """Take this week's post for this process: True for exactly one caller, however many race."""
    claimed = session.execute(
        update(Roundup)
        .where(
            col(Roundup.id) == roundup_id,
            col(Roundup.enabled),
            or_(col(Roundup.last_slot_at).is_(None), col(Roundup.last_slot_at) < slot_at),
        )
        .values(last_slot_at=slot_at)
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def give_back_week(*, session: Session, roundup_id: int, slot_at: datetime, previous: datetime | None) -> None:
    """The post failed before Slack took it: the next pass tries again."""
    session.execute(
        update(Roundup)
        .where(col(Roundup.id) == roundup_id, col(Roundup.last_slot_at) == slot_at)
        .values(last_slot_at=previous)
    )
    session.commit()


def week_in_channel(
    *, session: Session, team_id: str, channel_id: str, since: datetime, until: datetime, limit: int = 5
) -> list[tuple[Item, int, int]]:
    """Items shared in the open in the channel in [since, until), with how many people shared them
    there and how many saved them in that time, most taken up first. A private share recorded
    there (the channel before it was made private) is nobody's business, even as a number."""
    sharers = (
        select(col(Share.item_id).label("item_id"), func.count(func.distinct(Share.user_id)).label("sharers"))
        .where(
            Share.team_id == team_id,
            Share.channel_id == channel_id,
            share_in_the_open(),
            col(Share.shared_at) >= since,
            col(Share.shared_at) < until,
        )
        .group_by(col(Share.item_id))
        .subquery()
    )
    savers = (
        select(col(Save.item_id).label("item_id"), func.count(func.distinct(Save.user_id)).label("savers"))
        .where(
            Save.team_id == team_id,
            col(Save.saved_at) >= since,
            col(Save.saved_at) < until,
            done_in_the_open(Save.item_id, Save.saved_at),
        )
        .group_by(col(Save.item_id))
        .subquery()
    )
    saved = func.coalesce(savers.c.savers, 0)
    statement = (
        select(Item, sharers.c.sharers, saved)
        .join(sharers, sharers.c.item_id == col(Item.id))
        .outerjoin(savers, savers.c.item_id == col(Item.id))
        .where(in_the_open())
        .order_by((sharers.c.sharers + saved).desc(), col(Item.id).desc())
        .limit(limit)
    )
    return [(item, int(shared), int(kept)) for item, shared, kept in session.exec(statement)]
