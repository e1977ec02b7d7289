"""History import: the links shared before Peershelf was installed, captured as if each message had
arrived then (its sharer, channel, time and permalink), with save-emoji reactions as saves.

Each channel's import is one `Backfill` row: the span it reads and Slack's cursor after the last
page kept, so an interrupted import goes on from there and a second one adds nothing. Calls to
conversations.history and .replies are paced at SHELF_HISTORY_PER_MINUTE (Slack holds
distributed apps outside the Marketplace to one a minute), and a 429 is waited out by the
client's retry handler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.services.capture import add_channel_topics, capture_message, save_items
from bot.services.lookups import NotAColleague, colleague, conversation, known_conversation, workspace_url
from bot.services.members import refresh_channel
from bot.services.messages import read_message
from bot.settings import Settings
from bot.slack.client import client_for_team
from storage import backfills
from storage.channels import default_topics, lock_channel
from storage.models import Backfill, Channel

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 90
LEASE = timedelta(minutes=5)  # renewed with every page; a stopped process's imports are taken over sooner
# An edit or deletion delivered (to another process, on its own clock) this long before a page was
# read counts as after it: leaving out a message whose live capture holds it anyway costs nothing.
CLOCKS_DIFFER = timedelta(minutes=10)
REVISIONS_KEPT = timedelta(days=1)  # far longer than any page is held between its reading and its writing
MADE_PRIVATE = "made private: the rest of its history is not imported"
NOT_KNOWN = "Slack did not say whether this channel is still public, so no more of it is imported"


class Pacer:
    """Spaces calls `60 / per_minute` seconds apart, for one process."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.gap = 60.0 / per_minute
        self.clock, self.sleep = clock, sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.gap


def slack_ts(when: datetime) -> str:
    return f"{when.timestamp():.6f}"


@dataclass
class Tally:
    """What one channel's import did, page by page (for progress bars and the summary)."""

    channel_id: str
    name: str | None
    messages: int = 0
    links: int = 0
    saves: int = 0
    state: str = "pending"
    problem: str | None = None
    reached_ts: str | None = None  # how far back the import has read (history comes newest first)


def days_covered(row: Backfill, reached_ts: str | None) -> float:
    """Days of the import's span read so far, for an ETA: from its end back to `reached_ts`."""
    if reached_ts is None:
        return 0.0
    return max(0.0, float(row.latest_ts) - max(float(reached_ts), float(row.oldest_ts))) / 86_400


def span_days(row: Backfill) -> float:
    return max(0.0, float(row.latest_ts) - float(row.oldest_ts)) / 86_400


@dataclass
class Backfiller:
    """Imports channels of one workspace through `client`."""

    services: Services
    client: WebClient
    team_id: str
    pacer: Pacer
    stop: threading.Event = field(default_factory=threading.Event)
    on_page: Callable[[Tally, int], None] = lambda tally, messages: None

    def public_channels(self) -> list[tuple[str, str | None]]:
        """The public channels the bot is in (users.conversations, Tier 3: not paced)."""
        found = []
        for page in self.client.users_conversations(types="public_channel", exclude_archived=True, limit=200):
            found += [(str(c["id"]), c.get("name")) for c in page.get("channels") or []]
        return found

    def plan(
        self, channels: list[tuple[str, str | None]], *, since: datetime, requested_by: str | None = None
    ) -> tuple[list[Backfill], list[Tally]]:
        """Rows to run for these channels, and a tally for each channel left out (private, ignored,
        or already imported back to `since`)."""
        now = self.services.clock()
        rows, skipped = [], []
        for channel_id, name in channels:
            why, known_name = self._unreadable(channel_id)
            name = name or known_name
            if why:
                skipped.append(Tally(channel_id, name, state="skipped", problem=why))
                continue
            with self.services.transaction() as session:
                row = backfills.plan(
                    session=session, team_id=self.team_id, channel_id=channel_id, name=name,
                    oldest_ts=slack_ts(since), latest_ts=slack_ts(now), now=now, requested_by=requested_by,
                )  # fmt: skip
            if row is None:
                skipped.append(Tally(channel_id, name, state="done", problem="already imported"))
            else:
                rows.append(row)
        return rows, skipped

    def _unreadable(self, channel_id: str) -> tuple[str | None, str | None]:
        """Why a channel is not imported (None: it is), and its name when Slack said it."""
        if channel_id in self.services.settings.ignore_channels:
            return "in SHELF_IGNORE_CHANNELS", None
        known = conversation(self.services, self.client, self.team_id, channel_id)
        if known is None:
            return "Slack does not know this channel, or Peershelf cannot see it", None
        if known.is_private:
            return "private: only public channels are imported", known.name
        return None, known.name

    def run(self, row: Backfill) -> Tally:
        """Read the channel's history page by page until done, stopped or refused."""
        tally = Tally(row.channel_id, row.name, row.messages, row.links, row.saves, row.state)
        refresh_channel(self.services, self.client, self.team_id, row.channel_id)  # who is in it, while here
        base = workspace_url(self.services, self.client, self.team_id)
        topics = default_topics(conversation(self.services, self.client, self.team_id, row.channel_id))
        try:
            while not self.stop.is_set():
                # Made private meanwhile (the cache says so: the privacy change updates it): no more
                # of its history is read, and a page read in the meantime is not written (`_keep`).
                still_public(known_conversation(self.services, self.team_id, row.channel_id))
                read_at = self.services.clock()
                page = self._history(row)
                found = list(self._with_replies(row, page.get("messages") or []))
                messages, links, saves = self._keep(row, found, base, topics, read_at=read_at)
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                with self.services.new_session() as session:
                    session.add(row)
                    backfills.record_page(
                        session=session, row=row, cursor=cursor, messages=messages, links=links, saves=saves,
                        now=self.services.clock(), lease=LEASE,
                    )  # fmt: skip
                tally.messages, tally.links, tally.saves, tally.state = row.messages, row.links, row.saves, row.state
                oldest = [str(m["ts"]) for m in page.get("messages") or [] if isinstance(m.get("ts"), str)]
                tally.reached_ts = row.oldest_ts if cursor is None else min(oldest, default=tally.reached_ts)
                self.on_page(tally, messages)
                if cursor is None:
                    break
        except (SlackApiError, NotPublic) as error:
            problem = str(error) if isinstance(error, NotPublic) else str(error.response.get("error"))
            if problem == "not_in_channel":
                problem = "Peershelf is not in this channel: /invite it there first"
            with self.services.new_session() as session:
                session.add(row)
                backfills.fail(session=session, row=row, error=problem, now=self.services.clock())
            tally.state, tally.problem = "failed", problem
        return tally

    def _history(self, row: Backfill) -> dict[str, Any]:
        self.pacer.wait()
        page = self.client.conversations_history(
            channel=row.channel_id, oldest=row.oldest_ts, latest=row.latest_ts, inclusive=True,
            limit=self.services.settings.history_page_size, cursor=row.cursor or None,
        )  # fmt: skip
        return dict(page.data) if isinstance(page.data, dict) else {}

    def _with_replies(self, row: Backfill, messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The page's messages, each thread's replies (up to the import's end) after its parent."""
        for message in messages:
            yield message
            ts = str(message.get("ts") or "")
            if not message.get("reply_count") or message.get("thread_ts", ts) != ts:
                continue
            cursor = None
            while True:
                self.pacer.wait()
                replies = self.client.conversations_replies(
                    channel=row.channel_id, ts=ts, latest=row.latest_ts, inclusive=True,
                    limit=self.services.settings.history_page_size, cursor=cursor,
                )  # fmt: skip
                yield from (m for m in replies.get("messages") or [] if m.get("ts") != ts)
                cursor = (replies.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break

    def _keep(
        self, row: Backfill, found: list[dict[str, Any]], base: str | None, topics: list[str], *, read_at: datetime
    ) -> tuple[int, int, int]:
        """Capture one page's messages (read from Slack at `read_at`) in one transaction, as of
        when each was sent; NotPublic, and nothing written, when the channel is not public now.

        Under the channel's lock (storage.channels.lock_channel), which the change that makes it
        private takes too, and so does the live capture of an edit or a deletion: a page either is
        written first (and the change, or the revision, then applies to what it wrote), or sees the
        channel private, or leaves out the messages revised live since it was read (their live
        capture holds them as they are now)."""
        settings = self.services.settings
        # A public channel: the cache says it still is, read below under the channel's lock.
        where = {"team_id": self.team_id, "channel_id": row.channel_id, "channel_type": "channel"}
        links = saves = 0
        new_shares: list[int] = []
        with self.services.transaction() as session:
            still_public(lock_channel(session=session, team_id=self.team_id, channel_id=row.channel_id, wholly=True))
            revised = backfills.revised_since(
                session=session, team_id=self.team_id, channel_id=row.channel_id, since=read_at - CLOCKS_DIFFER
            )
            for raw in found:
                message = read_message(raw, where, capture_bots=settings.capture_bots)
                if message is None or message.ts in revised:
                    continue
                sent = datetime.fromtimestamp(float(message.ts), UTC)
                captured = capture_message(
                    session=session, message=message, now=sent, taxonomy=self.services.taxonomy, workspace_url=base
                )
                if not captured:
                    continue
                new_shares += [c.share.id or 0 for c in captured if c.new_share]
                links += sum(1 for c in captured if c.new_share)
                items = list({c.item.id: c.item for c in captured}.values())
                for user_id in _savers(raw, settings):
                    saved = save_items(
                        session=session, team_id=self.team_id, user_id=user_id, items=items, now=sent, source="reaction"
                    )
                    saves += sum(1 for s in saved if s.new)
            if topics and new_shares:
                add_channel_topics(session=session, share_ids=new_shares, topics=topics, now=self.services.clock())
        if links:
            self.services.fetch_wakeup.set()
        return len(found), links, saves


class NotPublic(Exception):
    """A channel whose import stops: not public now, or not known to be."""


def still_public(channel: Channel | None) -> None:
    """NotPublic unless the cache says the channel is public."""
    if channel is None:
        raise NotPublic(NOT_KNOWN)
    if channel.is_private:
        raise NotPublic(MADE_PRIVATE)


def _savers(raw: dict[str, Any], settings: Settings) -> list[str]:
    """People who reacted to a message with a save emoji (`Settings.saves_with`, as live reactions)."""
    people: list[str] = []
    for reaction in raw.get("reactions") or []:
        if isinstance(reaction, dict) and settings.saves_with(reaction.get("name")):
            people += [u for u in reaction.get("users") or [] if isinstance(u, str) and u not in people]
    return people


def since_argument(value: str, *, now: datetime) -> datetime:
    """`--since`: a number of days back, or a date (YYYY-MM-DD, midnight UTC); ValueError otherwise."""
    value = value.strip()
    if value.isdigit():
        days = int(value)
        if not 1 <= days <= 3650:
            raise ValueError("a number of days from 1 to 3650")
        return now - timedelta(days=days)
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError("a number of days or a date like 2026-09-01") from None
    if day >= now:
        raise ValueError("a date in the past")
    return day


def start_history_import(services: Services, client: WebClient, *, team_id: str, user_id: str) -> int:
    """The App Home's button: plan the last DEFAULT_DAYS of every public channel the bot is in, for
    a worker to run (`run_waiting_backfills`). Only a workspace admin may, as Slack says now (not a
    profile read days ago); the number of channels planned."""
    try:
        if not colleague(services, client, team_id, user_id, fresh=True).is_admin:
            logger.warning("%s of team %s is not an admin; no history import", user_id, team_id)
            return 0
    except NotAColleague:
        return 0
    backfiller = Backfiller(services, client, team_id, Pacer(services.settings.history_per_minute))
    since = services.clock() - timedelta(days=DEFAULT_DAYS)
    rows, _ = backfiller.plan(backfiller.public_channels(), since=since, requested_by=user_id)
    return len(rows)


def run_waiting_backfills(services: Services, *, stop: threading.Event | None = None) -> int:
    """(Scheduled) Run imports started from the App Home, or left by a process that stopped; one
    at a time, so this process keeps to the pace. The number of channels finished."""
    finished = 0
    while stop is None or not stop.is_set():
        with services.new_session() as session:
            row = backfills.claim_next(session=session, now=services.clock(), lease=LEASE, holder=services.holder)
        if row is None:
            return finished
        client = client_for_team(services.settings, services.engine, row.team_id)
        if client is None:  # the workspace left: nothing more to read
            with services.new_session() as session:
                session.add(row)
                backfills.fail(session=session, row=row, error="the app is not installed", now=services.clock())
            continue
        pacer = _pacers.setdefault(row.team_id, Pacer(services.settings.history_per_minute))
        tally = Backfiller(services, client, row.team_id, pacer, stop=stop or threading.Event()).run(row)
        finished += tally.state == "done"
        logger.info("history of %s (team %s): %s, %s messages, %s links", row.channel_id, row.team_id,
                    tally.state, tally.messages, tally.links)  # fmt: skip
    return finished


def forget_old_revisions(services: Services) -> int:
    """(Scheduled) Forget the records of live edits and deletions older than any page in hand."""
    with services.new_session() as session:
        return backfills.forget_revisions_before(session=session, before=services.clock() - REVISIONS_KEPT)


_pacers: dict[str, Pacer] = {}  # one per workspace in this process: Slack's limits are per workspace
