"""Workspaces Peershelf serves."""

from __future__ import annotations

from datetime import datetime

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


def get_workspace(*, session: Session, team_id: str) -> Workspace | None:
    return session.get(Workspace, team_id)


def installed_workspaces(*, session: Session) -> list[Workspace]:
    """Workspaces that have not uninstalled the app, oldest first."""
    statement = select(Workspace).where(Workspace.uninstalled_at == None).order_by(col(Workspace.installed_at))  # noqa: E711
    return list(session.exec(statement))
