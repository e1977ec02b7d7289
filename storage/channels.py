"""What Peershelf knows of conversations (from conversations.info), cached, and who is in the ones
the bot is in (conversations.members, kept current by the join and leave events)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import chunked, one_of, read_for_update
from storage.models import Channel, ChannelMember
from storage.visibility import channel_in_the_open

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


# -- who is in which channel -----------------------------------------------------------------------
# Slack's word, read for the conversations the bot is in, whatever their privacy; read back only
# through the cache's privacy (`channel_in_the_open`), so a private channel's members never show.

ROWS_A_STATEMENT = 200  # four values a row: well under SQLite's limit on bound parameters


def set_members(*, session: Session, team_id: str, channel_id: str, user_ids: Iterable[str], now: datetime) -> None:
    """The channel's members are `user_ids` (what conversations.members said at `now`) and no one
    else, in one transaction. Two refreshes of one channel take its lock in turn: the second reads
    what the first committed, so neither leaves rows of the other behind, nor loses any. (A join
    or a leave delivered while Slack's list was being read may be undone by it; the next refresh
    settles it.)"""
    wanted = set(user_ids)
    _hold_members(session, team_id, channel_id)
    rows = [{"team_id": team_id, "channel_id": channel_id, "user_id": u, "seen_at": now} for u in sorted(wanted)]
    for start in range(0, len(rows), ROWS_A_STATEMENT):
        _upsert_members(session, rows[start : start + ROWS_A_STATEMENT])
    # Read under the lock: what is committed, and stays so until this commits.
    recorded = session.execute(select(ChannelMember.user_id).where(_of_channel(team_id, channel_id))).scalars()
    for gone in chunked(sorted({str(u) for u in recorded} - wanted)):
        session.execute(
            delete(ChannelMember).where(
                _of_channel(team_id, channel_id), one_of(session, col(ChannelMember.user_id), gone)
            )
        )
    session.commit()


def join(*, session: Session, team_id: str, channel_id: str, user_id: str, now: datetime) -> None:
    """`user_id` is in the channel (member_joined_channel); safe when it is said twice at once."""
    _upsert_members(session, [{"team_id": team_id, "channel_id": channel_id, "user_id": user_id, "seen_at": now}])
    session.commit()


def leave(*, session: Session, team_id: str, channel_id: str, user_id: str) -> None:
    """`user_id` left the channel (member_left_channel)."""
    session.execute(
        delete(ChannelMember).where(_of_channel(team_id, channel_id), col(ChannelMember.user_id) == user_id)
    )
    session.commit()


def drop_members(*, session: Session, team_id: str, channel_id: str | None = None) -> int:
    """Forget who is in a channel the bot left, or (None) in every channel of a workspace that
    left: nothing keeps them current any more. The caller commits; how many rows went."""
    where = _of_channel(team_id, channel_id) if channel_id else col(ChannelMember.team_id) == team_id
    return int(session.execute(delete(ChannelMember).where(where)).rowcount)  # type: ignore[attr-defined]


def public_channels_of(*, session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, set[str]]:
    """The public channels each of `user_ids` is in (only people in one are keys)."""
    found: dict[str, set[str]] = {}
    for channel_id, user_id in _memberships(session, team_id, col(ChannelMember.user_id), user_ids):
        found.setdefault(user_id, set()).add(channel_id)
    return found


def members_of(*, session: Session, team_id: str, channel_ids: Iterable[str]) -> dict[str, set[str]]:
    """Who is in each of `channel_ids` that is public (only public channels with members are keys)."""
    found: dict[str, set[str]] = {}
    for channel_id, user_id in _memberships(session, team_id, col(ChannelMember.channel_id), channel_ids):
        found.setdefault(channel_id, set()).add(user_id)
    return found


def _memberships(session: Session, team_id: str, column: Any, values: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(channel_id, user_id) of memberships of public channels whose `column` is one of `values`."""
    for some in chunked(sorted(set(values))):
        for channel_id, user_id in session.execute(_in_the_open(team_id).where(one_of(session, column, some))):
            yield str(channel_id), str(user_id)


def _in_the_open(team_id: str) -> Any:
    """(channel_id, user_id) of the workspace's members of channels the cache says are public."""
    cached = and_(
        col(Channel.team_id) == col(ChannelMember.team_id), col(Channel.channel_id) == col(ChannelMember.channel_id)
    )
    return (
        select(col(ChannelMember.channel_id), col(ChannelMember.user_id))
        .join(Channel, cached)
        .where(col(ChannelMember.team_id) == team_id, channel_in_the_open())
    )


def _of_channel(team_id: str, channel_id: str) -> Any:
    return and_(col(ChannelMember.team_id) == team_id, col(ChannelMember.channel_id) == channel_id)


def _hold_members(session: Session, team_id: str, channel_id: str) -> None:
    """Wait for any other `set_members` of the channel to end, and hold it off until this
    transaction ends: on PostgreSQL an advisory lock on the channel's membership (whose rows may be
    none); on SQLite the file's write lock, which a write takes as it begins, even one that
    matches no row (as storage.db.read_for_update's does)."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"members {team_id} {channel_id}"
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
        return
    same = update(ChannelMember).where(_of_channel(team_id, channel_id)).values(seen_at=col(ChannelMember.seen_at))
    session.execute(same.execution_options(synchronize_session=False))


def _upsert_members(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or say again when each was seen: a row a join (or another refresh) wrote
    meanwhile is one row still, and no insert fails for it."""
    if not rows:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ChannelMember.__table__).values(rows)  # type: ignore[attr-defined]
    keys = ["team_id", "channel_id", "user_id"]
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_={"seen_at": statement.excluded.seen_at}))
