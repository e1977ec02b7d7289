"""The weekly digest: what goes in it, and the pass that sends each one once."""

from __future__ import annotations

import contextlib
import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import blocks
from bot.directory import PROFILE_MAX_AGE, NotAColleague, colleague
from bot.schedule import current_slot, preferences
from bot.services import Services
from storage import digests
from storage import items as item_store
from storage.directory import get_person
from storage.models import Item, Person
from storage.people import interests_of

logger = logging.getLogger(__name__)

PER_SECTION = 5
UNREAD_REMINDERS = 3
LEASE = timedelta(minutes=10)  # a claim older than this, never sent, is taken over
MAX_ATTEMPTS = 5
FIRST_DIGEST_LOOKBACK = timedelta(days=7)


@dataclass
class Section:
    title: str
    entries: list[tuple[Item, str]]  # item and why it is here


@dataclass
class Digest:
    user_id: str
    slot_at: datetime
    sections: list[Section] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(section.entries for section in self.sections)

    def items(self) -> list[Item]:
        return [item for section in self.sections for item, _ in section.entries]


def build(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    slot_at: datetime,
    since: datetime,
    week: dict[str, list[tuple[int, int]]] | None = None,
) -> Digest:
    """Sections in order, only where not empty, five items each; an item appears once; a person's
    own shares never fill their own sections. `week` is `weekly_top` for the slot's week, shared
    by everyone in a pass."""
    digest = Digest(user_id, slot_at)
    seen: set[int] = set()
    topics = interests_of(session=session, team_id=team_id, user_id=user_id)
    week_ago = slot_at - timedelta(days=7)
    candidates = [
        (
            "Recommended to you",
            digests.recommended(session=session, team_id=team_id, user_id=user_id, limit=PER_SECTION * 2),
        ),
        (
            "New in lists you subscribe to",
            [
                (item, f"in _{blocks.slack_escape(name)}_")
                for item, name in digests.list_additions(
                    session=session, team_id=team_id, user_id=user_id, since=since, limit=PER_SECTION * 2
                )
            ],
        ),
        (
            "New from people you follow",
            digests.from_followed(
                session=session, team_id=team_id, user_id=user_id, since=since, limit=PER_SECTION * 2
            ),
        ),
        (
            "Top of the week in your interests",
            digests.top_in_interests(
                session=session,
                user_id=user_id,
                topics=topics,
                week=week if week is not None else digests.weekly_top(session=session, team_id=team_id, since=week_ago),
                limit=PER_SECTION * 2,
            ),
        ),
        (
            "Still on your shelf",
            digests.unread_saves(session=session, team_id=team_id, user_id=user_id, limit=PER_SECTION),
        ),
    ]
    for title, found in candidates:
        limit = UNREAD_REMINDERS if title == "Still on your shelf" else PER_SECTION
        entries: list[tuple[Item, str]] = []
        for item, why in found:
            if item.id in seen or len(entries) >= limit:
                continue
            seen.add(item.id or 0)
            entries.append((item, why))
        if entries:
            digest.sections.append(Section(title, entries))
    return digest


def render(session: Session, digest: Digest) -> tuple[str, list[blocks.Block]]:
    """The DM: fallback text and blocks within Block Kit's limits."""
    tags = item_store.active_tags(session=session, item_ids=[i.id or 0 for i in digest.items()])
    counts = ", ".join(f"{len(s.entries)} {s.title[0].lower() + s.title[1:]}" for s in digest.sections)
    text = f"Your weekly Peershelf digest: {counts}."
    sections = [
        (
            section.title,
            [
                (item, why, " ".join(f"#{t.tag}" for t in tags.get(item.id or 0, [])[:3]))
                for item, why in section.entries
            ],
        )
        for section in digest.sections
    ]
    return text, blocks.digest_blocks(sections)


@dataclass
class PassResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    not_due: int = 0
    previews: list[tuple[str, str, list[blocks.Block]]] = field(default_factory=list)  # dry run: (user, text, blocks)


class DigestPass:
    """One pass over a workspace: every digest whose slot has passed this week and is not yet sent."""

    def __init__(
        self,
        services: Services,
        client: WebClient | None,
        *,
        pace_seconds: float = 0.2,
        sleep: Callable[[float], None] = clock.sleep,
    ) -> None:
        self.services = services
        self.client = client
        self.pace_seconds = pace_seconds  # bulk sends are paced below Slack's chat.postMessage limits
        self.sleep = sleep
        self._weeks: dict[datetime, dict[str, list[tuple[int, int]]]] = {}

    def run(self, team_id: str, *, now: datetime | None = None, dry_run: bool = False) -> PassResult:
        now = now or self.services.clock()
        result = PassResult()
        with self.services.new_session() as session:
            users = digests.candidates(session=session, team_id=team_id)
            known = digests.people(session=session, team_id=team_id, user_ids=users)
        if self.client is not None:
            known.update(self._refresh_time_zones(team_id, users, known, now))
        for user_id in users:
            person = known.get(user_id)
            day, at = preferences(
                self.services.settings, person.digest_day if person else None, person.digest_time if person else None
            )
            slot = current_slot(now, weekday=day, at=at, tz_name=person.tz if person else None)
            if dry_run:
                self._preview(team_id, user_id, slot, result)
            else:
                self._deliver(team_id, user_id, slot, now, result)
        return result

    def _refresh_time_zones(
        self, team_id: str, users: list[str], known: dict[str, Person], now: datetime
    ) -> dict[str, Person]:
        """Ask Slack (users.info) for the time zone of anyone not looked up this week."""
        assert self.client is not None
        fresh: dict[str, Person] = {}
        for user_id in users:
            person = known.get(user_id)
            if (
                person is not None
                and person.profile_refreshed_at
                and now - person.profile_refreshed_at < PROFILE_MAX_AGE
            ):
                continue
            with contextlib.suppress(NotAColleague):
                colleague(self.services, self.client, team_id, user_id)
            with self.services.new_session() as session:
                found = get_person(session=session, team_id=team_id, user_id=user_id)
            if found is not None:
                fresh[user_id] = found
        return fresh

    def _week(self, session: Session, team_id: str, slot: datetime) -> dict[str, list[tuple[int, int]]]:
        """The week's top items by topic, computed once per distinct slot in a pass."""
        if slot not in self._weeks:
            self._weeks[slot] = digests.weekly_top(session=session, team_id=team_id, since=slot - timedelta(days=7))
        return self._weeks[slot]

    def _since(self, session: Session, team_id: str, user_id: str, slot: datetime) -> datetime:
        last = digests.last_sent(session=session, team_id=team_id, user_id=user_id)
        return last if last is not None and last < slot else slot - FIRST_DIGEST_LOOKBACK

    def _preview(self, team_id: str, user_id: str, slot: datetime, result: PassResult) -> None:
        with self.services.new_session() as session:
            digest = build(
                session,
                team_id=team_id,
                user_id=user_id,
                slot_at=slot,
                since=self._since(session, team_id, user_id, slot),
                week=self._week(session, team_id, slot),
            )
            if digest.empty:
                result.skipped += 1
                return
            text, shown = render(session, digest)
        result.previews.append((user_id, text, shown))
        result.sent += 1

    def _deliver(self, team_id: str, user_id: str, slot: datetime, now: datetime, result: PassResult) -> None:
        with self.services.new_session() as session:
            claimed = digests.claim(
                session=session,
                team_id=team_id,
                user_id=user_id,
                slot_at=slot,
                now=now,
                lease=LEASE,
                max_attempts=MAX_ATTEMPTS,
            )
            if claimed is None:
                result.not_due += 1
                return
            digest = build(
                session,
                team_id=team_id,
                user_id=user_id,
                slot_at=slot,
                since=self._since(session, team_id, user_id, slot),
                week=self._week(session, team_id, slot),
            )
            if digest.empty:
                digests.finish(session=session, delivery_id=claimed.id or 0, status="skipped", now=now)
                result.skipped += 1
                return
            text, shown = render(session, digest)
            # From here a crash leaves "sending": never sent again, so nobody gets two digests a week.
            digests.finish(session=session, delivery_id=claimed.id or 0, status="sending", now=now)
        assert self.client is not None
        try:
            posted = self.client.chat_postMessage(channel=user_id, text=text, blocks=shown, unfurl_links=False)
        except SlackApiError as error:  # a 429 was already waited out by the client's retry handler
            reason = str(error.response.get("error"))
            logger.warning("digest for %s of team %s not sent: %s", user_id, team_id, reason)
            with self.services.new_session() as session:
                digests.finish(session=session, delivery_id=claimed.id or 0, status="failed", now=now, error=reason)
            result.failed += 1
            return
        with self.services.new_session() as session:
            digests.finish(session=session, delivery_id=claimed.id or 0, status="sent", now=now, ts=posted.get("ts"))
        result.sent += 1
        if self.pace_seconds:
            self.sleep(self.pace_seconds)


def preview(services: Services, *, team_id: str, user_id: str) -> tuple[str, list[blocks.Block]] | None:
    """`/shelf digest`: the person's next digest as it stands now, or None when it would be empty."""
    now = services.clock()
    with services.new_session() as session:
        last = digests.last_sent(session=session, team_id=team_id, user_id=user_id)
        since = last if last is not None else now - FIRST_DIGEST_LOOKBACK
        digest = build(session, team_id=team_id, user_id=user_id, slot_at=now, since=since)
        if digest.empty:
            return None
        return render(session, digest)
