"""Workspaces Peershelf serves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select
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
        if workspace is None or workspace.uninstalled_at is not None:
            schedule.forget(session.connection())  # its people's digests were not in the recorded next instant
        if workspace is None:
            workspace = Workspace(team_id=team_id, installed_at=now)
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
