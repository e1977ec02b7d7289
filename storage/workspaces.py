"""Workspaces Peershelf serves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import schedule
from storage.models import Workspace


def upsert_workspace(
    *,
    session: Session,
    team_id: str,
    name: str | None,
    bot_user_id: str | None,
    now: datetime,
    url: str | None = None,
) -> Workspace:
    """Record (or refresh) a workspace the bot is installed in; safe when two requests race to do it."""
    for _ in range(2):
        workspace = session.get(Workspace, team_id)
        arriving = workspace is None or workspace.uninstalled_at is not None
        if arriving:
            schedule.forget(session.connection())  # its people's digests were not in the recorded next instant
        if workspace is None:
            workspace = Workspace(team_id=team_id, installed_at=now)
        if arriving:  # who is in its channels is read at once (bot.services.members)
            workspace.members_due_at = None
        workspace.name = name or workspace.name
        workspace.bot_user_id = bot_user_id or workspace.bot_user_id
        workspace.url = url or workspace.url
        workspace.uninstalled_at = None
        session.add(workspace)
        try:
            session.commit()
            return workspace
        except IntegrityError:  # created by a concurrent request between our read and write
            session.rollback()
    raise RuntimeError(f"could not record workspace {team_id}")


def mark_left(*, session: Session, team_id: str, now: datetime) -> bool:
    """The app was uninstalled from `team_id` or its bot token revoked: from now on nothing calls
    Slack for it. The first departure counts (its data is deleted some days after it). False when
    it had already left."""
    workspace = session.get(Workspace, team_id)
    if workspace is not None and workspace.uninstalled_at is not None:
        return False
    if workspace is None:
        workspace = Workspace(team_id=team_id, installed_at=now)
    workspace.uninstalled_at = now
    session.add(workspace)
    session.commit()
    return True


def has_left(*, session: Session, team_id: str) -> bool:
    workspace = session.get(Workspace, team_id)
    return workspace is not None and workspace.uninstalled_at is not None


def left_before(*, session: Session, cutoff: datetime) -> list[str]:
    """Workspaces that left before `cutoff`: their data is due to be deleted."""
    statement = select(Workspace.team_id).where(col(Workspace.uninstalled_at) <= cutoff)
    return list(session.exec(statement))


def departed() -> Select[tuple[str]]:
    """The IDs of workspaces that left, for excluding their work from a claim."""
    return select(Workspace.team_id).where(col(Workspace.uninstalled_at).is_not(None))  # type: ignore[return-value]


def get_workspace(*, session: Session, team_id: str) -> Workspace | None:
    return session.get(Workspace, team_id)


def installed_workspaces(*, session: Session) -> list[Workspace]:
    """Workspaces that have not uninstalled the app, oldest first."""
    statement = select(Workspace).where(Workspace.uninstalled_at == None).order_by(col(Workspace.installed_at))  # noqa: E711
    return list(session.exec(statement))


def members_due(*, session: Session, now: datetime) -> list[str]:
    """Installed workspaces whose channels' members are due to be read from Slack again."""
    statement = select(Workspace.team_id).where(col(Workspace.uninstalled_at).is_(None), _members_due(now))
    return list(session.exec(statement.order_by(col(Workspace.team_id))))


def claim_members(*, session: Session, team_id: str, now: datetime, retry: timedelta) -> bool:
    """Take the reading of a workspace's members for this process: True for exactly one caller
    however many race. Its next turn moves `retry` on at once, so a process that dies while reading
    leaves it to be read again then; `members_read` moves it to the week after."""
    claimed = session.execute(
        update(Workspace)
        .where(col(Workspace.team_id) == team_id, col(Workspace.uninstalled_at).is_(None), _members_due(now))
        .values(members_due_at=now + retry)
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def members_read(*, session: Session, team_id: str, next_at: datetime) -> None:
    """A workspace's members were read: they are due again at `next_at`."""
    session.execute(update(Workspace).where(col(Workspace.team_id) == team_id).values(members_due_at=next_at))
    session.commit()


def _members_due(now: datetime) -> Any:
    return or_(col(Workspace.members_due_at).is_(None), col(Workspace.members_due_at) <= now)
