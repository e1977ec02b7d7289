"""History imports, one row per channel: the span of Slack timestamps to read, where the import
got to, and who is running it (a claim, as for every other piece of background work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.claims import claim_due, unclaimed
from storage.models import Backfill, MessageRevision

RUNNING = ("pending", "running")


def plan(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    name: str | None,
    oldest_ts: str,
    latest_ts: str,
    now: datetime,
    requested_by: str | None = None,
) -> Backfill | None:
    """The import to run for one channel, or None when its history back to `oldest_ts` is already in.

    An import that was interrupted goes on where it stopped. One that finished reads only what
    lies before the span it read, when asked to go further back. The caller commits."""
    row = session.exec(select(Backfill).where(Backfill.team_id == team_id, Backfill.channel_id == channel_id)).first()
    if row is None:
        row = Backfill(team_id=team_id, channel_id=channel_id, oldest_ts=oldest_ts, latest_ts=latest_ts, created_at=now)
    elif row.state == "done":
        if oldest_ts >= row.oldest_ts:
            return None
        row.latest_ts, row.oldest_ts, row.cursor, row.finished_at = row.oldest_ts, oldest_ts, None, None
    elif row.state == "failed":
        row.error = None
    row.state = "running" if row.state == "running" else "pending"
    row.name = name or row.name
    row.requested_by = requested_by or row.requested_by
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def claim(*, session: Session, ids: list[int], now: datetime, lease: timedelta, holder: str) -> list[Backfill]:
    """Take these imports for `holder`, those nobody else is running."""
    if not ids:
        return []
    due = col(Backfill.id).in_(ids) & col(Backfill.state).in_(RUNNING)
    return claim_due(session, Backfill, due=due, order_by=[col(Backfill.id)], now=now, lease=lease,
                     limit=len(ids), holder=holder)  # fmt: skip


def claim_next(*, session: Session, now: datetime, lease: timedelta, holder: str) -> Backfill | None:
    """The oldest import waiting (an App Home request, or one a stopped process held)."""
    due = col(Backfill.state).in_(RUNNING)
    found = claim_due(session, Backfill, due=due, order_by=[col(Backfill.id)], now=now, lease=lease, limit=1,
                      holder=holder)  # fmt: skip
    return found[0] if found else None


def waiting(*, session: Session, now: datetime) -> bool:
    statement = select(Backfill.id).where(col(Backfill.state).in_(RUNNING), unclaimed(Backfill, now)).limit(1)
    return session.exec(statement).first() is not None


def record_page(
    *,
    session: Session,
    row: Backfill,
    cursor: str | None,
    messages: int,
    links: int,
    saves: int,
    now: datetime,
    lease: timedelta,
) -> None:
    """One page read and kept: where to go on from (None: the channel is done), and the claim renewed."""
    row.cursor = cursor
    row.messages += messages
    row.links += links
    row.saves += saves
    row.state = "running" if cursor else "done"
    row.updated_at = now
    row.claimed_until = now + lease if cursor else None
    if cursor is None:
        row.finished_at, row.claimed_by = now, None
    session.add(row)
    session.commit()


def fail(*, session: Session, row: Backfill, error: str, now: datetime) -> None:
    row.state, row.error, row.updated_at, row.claimed_until, row.claimed_by = "failed", error[:512], now, None, None
    session.add(row)
    session.commit()


def release(*, session: Session, row_ids: list[int]) -> None:
    """Interrupted: left for the next run (or a worker) to go on from the last page kept."""
    if row_ids:
        session.execute(
            update(Backfill).where(col(Backfill.id).in_(row_ids)).values(claimed_until=None, claimed_by=None)
        )
        session.commit()


@dataclass(frozen=True)
class Progress:
    channels: int
    done: int
    failed: int
    messages: int
    links: int
    saves: int
    finished_at: datetime | None  # when the last channel finished, once all have

    @property
    def running(self) -> bool:
        return self.done + self.failed < self.channels


def progress(*, session: Session, team_id: str) -> Progress | None:
    """The workspace's imports taken together (for the App Home); None when there were none."""
    rows = list(session.exec(select(Backfill).where(Backfill.team_id == team_id)))
    if not rows:
        return None
    done = [r for r in rows if r.state == "done"]
    finished = [r.finished_at for r in done if r.finished_at]
    return Progress(
        channels=len(rows),
        done=len(done),
        failed=sum(1 for r in rows if r.state == "failed"),
        messages=sum(r.messages for r in rows),
        links=sum(r.links for r in rows),
        saves=sum(r.saves for r in rows),
        finished_at=max(finished) if finished and len(done) == len(rows) else None,
    )


# -- messages revised live ------------------------------------------------------------------------


def note_revision(*, session: Session, team_id: str, channel_id: str, message_ts: str, at: datetime) -> None:
    """A message's edit or deletion is being captured live (Slack delivered it `at`): an import page
    read before then must not record the message again. The caller holds the channel's lock
    (storage.channels.lock_channel), as the import's page does while it looks for these."""
    values = {"team_id": team_id, "channel_id": channel_id, "message_ts": message_ts, "revised_at": at}
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(MessageRevision.__table__).values(**values)  # type: ignore[attr-defined]
    # A message's revisions are captured in the order Slack delivered them (storage.captures.claim).
    latest = {"revised_at": statement.excluded.revised_at}
    session.execute(
        statement.on_conflict_do_update(index_elements=["team_id", "channel_id", "message_ts"], set_=latest)
    )


def revised_since(*, session: Session, team_id: str, channel_id: str, since: datetime) -> set[str]:
    """The messages of a channel whose edit or deletion was delivered at `since` or later."""
    statement = select(MessageRevision.message_ts).where(
        col(MessageRevision.team_id) == team_id,
        col(MessageRevision.channel_id) == channel_id,
        col(MessageRevision.revised_at) >= since,
    )
    return set(session.exec(statement))


def forget_revisions_before(*, session: Session, before: datetime) -> int:
    """Drop records of revisions no import page still in hand can have been read before."""
    result = session.execute(delete(MessageRevision).where(col(MessageRevision.revised_at) < before))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
