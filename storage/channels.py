"""What Peershelf knows of conversations (from conversations.info), cached."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import read_for_update
from storage.models import Channel

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # when a channel first recorded by its privacy change was asked about


def get_channel(*, session: Session, team_id: str, channel_id: str) -> Channel | None:
    statement = select(Channel).where(Channel.team_id == team_id, Channel.channel_id == channel_id)
    return session.exec(statement).first()


def remember_channel(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    name: str | None,
    purpose: str | None,
    is_private: bool,
    default_topics: list[str],
    now: datetime,
) -> Channel:
    channel = get_channel(session=session, team_id=team_id, channel_id=channel_id)
    if channel is None:
        channel = Channel(team_id=team_id, channel_id=channel_id)
    channel.name, channel.purpose, channel.is_private, channel.refreshed_at = name, purpose, is_private, now
    channel.default_topics = ",".join(default_topics)
    try:
        with session.begin_nested():
            session.add(channel)
    except IntegrityError:  # remembered by another request meanwhile; theirs is as fresh
        found = get_channel(session=session, team_id=team_id, channel_id=channel_id)
        assert found is not None
        channel = found
    session.commit()
    return channel


def default_topics(channel: Channel | None) -> list[str]:
    return [t for t in (channel.default_topics or "").split(",") if t] if channel else []


# A channel's privacy, as the cache says it, is read under a lock by whatever writes what depends
# on it (a capture, a live edit or deletion, a page of the history import), and the change that
# makes it private takes the same lock first: one waits for the other, so a share is either seen by
# the change (and made private) or sees the channel private. On SQLite the lock is the file's
# (storage.db.read_for_update). On PostgreSQL it is the channel's row, FOR UPDATE; a channel not
# cached yet has no row, so a capture then holds an advisory lock on the channel's name instead,
# for the rest of its transaction, and every writer that must wait for such a capture holds it
# too: the privacy change (which then records the row, private) and the import's page (`wholly`).


def lock_channel(*, session: Session, team_id: str, channel_id: str, wholly: bool = False) -> Channel | None:
    """The cached channel, locked until the transaction ends; None when Slack was never asked
    about it (no row is made: a new row would say private, which nobody said). `wholly`: hold its
    name as well as its row even when it is cached (for a writer that must also wait for a capture
    in a channel not cached when it began: the history import)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and wholly:
        _hold_name(session, team_id, channel_id)
    statement = (
        select(Channel)
        .where(col(Channel.team_id) == team_id, col(Channel.channel_id) == channel_id)
        .execution_options(populate_existing=True)
    )
    touch = Channel.__table__.c.is_private  # type: ignore[attr-defined]
    found: Channel | None = read_for_update(session, statement, touch=touch).scalars().first()
    if found is None and postgres and not wholly:
        _hold_name(session, team_id, channel_id)
        found = read_for_update(session, statement, touch=touch).scalars().first()  # recorded meanwhile?
    return found


def make_private(*, session: Session, team_id: str, channel_id: str) -> None:
    """Record the channel as private, under the lock `lock_channel` takes (its name and its row,
    created if it has none yet), before anything that was shared there is changed."""
    if session.get_bind().dialect.name == "postgresql":
        _hold_name(session, team_id, channel_id)
    values = {"team_id": team_id, "channel_id": channel_id, "is_private": True, "refreshed_at": NEVER}
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Channel.__table__).values(**values)  # type: ignore[attr-defined]
    session.execute(
        statement.on_conflict_do_update(index_elements=["team_id", "channel_id"], set_={"is_private": True})
    )


def _hold_name(session: Session, team_id: str, channel_id: str) -> None:
    key = f"channel {team_id} {channel_id}"
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
