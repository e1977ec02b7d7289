"""What Peershelf knows of conversations (from conversations.info), cached."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import Channel


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
