"""Deleting what Peershelf keeps of a whole workspace: every row, in every table.

Tables are found from the metadata, not listed by hand, so a table added later is covered by the
same code: every table with a `team_id` column is emptied of the workspace's rows, children before
parents, after the three kinds of row that reach a workspace only through a parent (a list's
items, a feed's entries) or live outside the metadata (the search index).
"""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlmodel import Session, SQLModel, col

from storage.models import CuratedList, Feed, FeedEntry, ListItem


def forget_workspace(*, session: Session, team_id: str) -> int:
    """Delete every row of the workspace `team_id`; the caller commits. Returns how many rows went."""
    deleted = 0
    lists = select(col(CuratedList.id)).where(col(CuratedList.team_id) == team_id)
    feeds = select(col(Feed.id)).where(col(Feed.team_id) == team_id)
    deleted += session.execute(delete(ListItem).where(col(ListItem.list_id).in_(lists))).rowcount  # type: ignore[attr-defined]
    deleted += session.execute(delete(FeedEntry).where(col(FeedEntry.feed_id).in_(feeds))).rowcount  # type: ignore[attr-defined]
    deleted += session.execute(text("DELETE FROM search_doc WHERE team_id = :team"), {"team": team_id}).rowcount  # type: ignore[attr-defined]
    for table in reversed(SQLModel.metadata.sorted_tables):
        if "team_id" in table.c:
            deleted += session.execute(delete(table).where(table.c.team_id == team_id)).rowcount  # type: ignore[attr-defined]
    return deleted
