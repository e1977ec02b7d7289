"""People: what Slack said of them (users.info), their digest settings, interests and follows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import schedule
from storage.db import one_of
from storage.models import Follow, Interest, Person


def get_person(*, session: Session, team_id: str, user_id: str) -> Person | None:
    return session.exec(select(Person).where(Person.team_id == team_id, Person.user_id == user_id)).first()


def remember_person(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    name: str | None,
    is_bot: bool,
    tz: str | None,
    now: datetime,
    is_admin: bool = False,
) -> Person:
    """Record what users.info said of someone; their own preferences are left untouched."""
    for _ in range(2):
        person = get_person(session=session, team_id=team_id, user_id=user_id)
        if person is None:
            person = Person(team_id=team_id, user_id=user_id, created_at=now)
        person.name, person.is_bot, person.tz, person.profile_refreshed_at = name, is_bot, tz, now
        person.is_admin = is_admin
        session.add(person)
        try:
            session.commit()
            return person
        except IntegrityError:  # looked up by a concurrent request
            session.rollback()
    raise RuntimeError(f"could not record person {user_id}")


def remember_people(
    *, session: Session, team_id: str, people: list[tuple[str, str | None, bool, str | None]], now: datetime
) -> None:
    """`remember_person` for many (user id, name, is bot, time zone) at once, from users.list."""
    if not people:
        return
    ids = [user_id for user_id, *_ in people]
    statement = select(Person).where(Person.team_id == team_id, one_of(session, col(Person.user_id), ids))
    known = {person.user_id: person for person in session.exec(statement)}
    for user_id, name, is_bot, tz in people:
        person = known.get(user_id) or Person(team_id=team_id, user_id=user_id, created_at=now)
        person.name, person.is_bot, person.tz, person.profile_refreshed_at = name, is_bot, tz, now
        session.add(person)
    try:
        session.commit()
    except IntegrityError:  # someone was looked up by a concurrent request meanwhile: one by one
        session.rollback()
        for user_id, name, is_bot, tz in people:
            remember_person(session=session, team_id=team_id, user_id=user_id, name=name, is_bot=is_bot, tz=tz, now=now)


def mark_looked_up(*, session: Session, team_id: str, user_ids: list[str], now: datetime) -> None:
    """Record that Slack was asked about these people and had nothing usable (deactivated, gone), so
    they are not asked about again, every pass, until their profile is due for a refresh anyway."""
    if not user_ids:
        return
    statement = select(Person).where(Person.team_id == team_id, one_of(session, col(Person.user_id), user_ids))
    known = {person.user_id: person for person in session.exec(statement)}
    for user_id in user_ids:
        person = known.get(user_id) or Person(team_id=team_id, user_id=user_id, created_at=now)
        person.profile_refreshed_at = now
        session.add(person)
    try:
        session.commit()
    except IntegrityError:  # recorded by a concurrent lookup meanwhile, which is as good
        session.rollback()


def follow(*, session: Session, team_id: str, follower_id: str, followee_id: str, now: datetime) -> bool:
    """False when already following."""
    session.add(Follow(team_id=team_id, follower_id=follower_id, followee_id=followee_id, created_at=now))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def unfollow(*, session: Session, team_id: str, follower_id: str, followee_id: str) -> bool:
    """False when not following."""
    result = session.execute(
        delete(Follow).where(
            col(Follow.team_id) == team_id,
            col(Follow.follower_id) == follower_id,
            col(Follow.followee_id) == followee_id,
        )
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def followees(*, session: Session, team_id: str, follower_id: str) -> list[str]:
    statement = select(Follow.followee_id).where(Follow.team_id == team_id, Follow.follower_id == follower_id)
    return list(session.exec(statement))


def interested_in(*, session: Session, team_id: str, topics: list[str]) -> dict[str, list[str]]:
    """People whose interests include any of `topics`: user id -> the topics they share, in `topics` order."""
    if not topics:
        return {}
    statement = select(Interest).where(Interest.team_id == team_id, col(Interest.topic).in_(topics))
    found: dict[str, list[str]] = {}
    for interest in session.exec(statement.order_by(col(Interest.id))):
        found.setdefault(interest.user_id, []).append(interest.topic)
    return found


def set_digest(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    now: datetime,
    enabled: bool | None = None,
    day: int | None = None,
    at: str | None = None,
) -> Person:
    """Change a person's digest preferences (what is not given stays as it was), remembering the
    person if Peershelf has not looked them up yet; safe when two requests race to do it."""
    for _ in range(2):
        person = get_person(session=session, team_id=team_id, user_id=user_id) or Person(
            team_id=team_id, user_id=user_id, created_at=now
        )
        if enabled is not None:
            person.digest_enabled = enabled
        if day is not None:
            person.digest_day = day
        if at is not None:
            person.digest_time = at
        session.add(person)
        schedule.forget(session.connection())  # a new day or time may be sooner than the recorded next digest
        try:
            session.commit()
            return person
        except IntegrityError:  # remembered by a concurrent request meanwhile
            session.rollback()
    raise RuntimeError(f"could not record the digest settings of {user_id}")


# -- interests ----------------------------------------------------------------------------------------


def interests_of(*, session: Session, team_id: str, user_id: str) -> list[str]:
    statement = (
        select(Interest.topic)
        .where(Interest.team_id == team_id, Interest.user_id == user_id)
        .order_by(col(Interest.id))
    )
    return list(session.exec(statement))


def set_interests(*, session: Session, team_id: str, user_id: str, topics: list[str], now: datetime) -> None:
    """Replace a person's interests with `topics` (in the order given)."""
    session.execute(delete(Interest).where(col(Interest.team_id) == team_id, col(Interest.user_id) == user_id))
    for topic in dict.fromkeys(topics):
        session.add(Interest(team_id=team_id, user_id=user_id, topic=topic, created_at=now))
    session.commit()
