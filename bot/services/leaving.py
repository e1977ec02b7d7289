"""Workspaces that leave: no call to Slack once the app is uninstalled or its bot token revoked,
and every row of the workspace deleted SHELF_FORGET_AFTER_DAYS later (Slack's guidelines for
distributed apps), or at once with `peershelf workspace forget`. A reinstall before then keeps
everything (`storage.workspaces.upsert_workspace`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.services import Services
from storage import workspaces
from storage.channels import drop_members
from storage.forget import forget_workspace

logger = logging.getLogger(__name__)


def leave(services: Services, team_id: str) -> None:
    """Stop serving `team_id` now: digests, deliveries, notices and feed polls skip it from here on.
    Who is in its channels goes at once: nothing keeps it current, and a reinstall reads it again."""
    with services.new_session() as session:
        drop_members(session=session, team_id=team_id)
        if workspaces.mark_left(session=session, team_id=team_id, now=services.clock()):
            days = services.settings.forget_after_days
            logger.info("workspace %s left; its data is deleted in %s days unless it installs again", team_id, days)


def forget(services: Services, team_id: str) -> int:
    """Delete every row of one workspace now; the number of rows deleted."""
    with services.transaction() as session:
        deleted = forget_workspace(session=session, team_id=team_id)
    logger.info("forgot workspace %s: %s rows deleted", team_id, deleted)
    return deleted


def forget_departed(services: Services) -> list[str]:
    """(Scheduled) Delete the data of workspaces that left more than SHELF_FORGET_AFTER_DAYS ago."""
    cutoff = services.clock() - timedelta(days=services.settings.forget_after_days)
    with services.new_session() as session:
        due = workspaces.left_before(session=session, cutoff=cutoff)
    for team_id in due:
        forget(services, team_id)
    return due
