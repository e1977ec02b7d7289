"""The weekly digest pass: every digest whose slot has passed this week, claimed, sent once, paced."""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Connection
from sqlmodel import Session

from bot.progress import Progress
from bot.services import Services, lookups
from bot.services.digests.compose import Digest, Week, build_all, render, tags_of, week_before
from bot.services.digests.slots import current_slot, next_slot, next_slot_anywhere, preferences
from bot.services.lookups import PROFILE_MAX_AGE, workspaces
from bot.services.picks import Picker, picker_for
from bot.services.recommendation_dms import client_for_team
from bot.slack import blocks
from storage import digests, schedule
from storage.models import Person
from storage.snapshot import Activity

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # a claim older than this, never sent, is taken over
MAX_ATTEMPTS = 5
BATCH = 1000  # people whose digests are built together


@dataclass
class PassResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    not_due: int = 0
    next_at: datetime | None = None  # nothing was due: the soonest anything can be (None: unknown)
    previews: list[tuple[str, str, list[blocks.Block]]] = field(default_factory=list)  # dry run: (user, text, blocks)
    team_id: str | None = None
    digests: list[Digest] = field(default_factory=list)  # dry run: the same digests, as built (see as_record)


def as_record(team_id: str, digest: Digest) -> dict[str, Any]:
    """A dry run's digest as plain data (`digest run --dry-run --json`): its workspace, person, slot
    (ISO-8601) and sections in order, each item with its address, title and why it is there."""
    return {
        "team": team_id,
        "user": digest.user_id,
        "slot": digest.slot_at.isoformat(),
        "sections": [
            {
                "title": section.title,
                "items": [{"url": item.url, "title": item.title, "why": why} for item, why in section.entries],
            }
            for section in digest.sections
        ],
    }


class DigestPass:
    """One pass over a workspace: every digest whose slot has passed this week and is not yet sent."""

    def __init__(
        self,
        services: Services,
        client: WebClient | None,
        *,
        pace_seconds: float = 0.2,
        sleep: Callable[[float], None] = clock.sleep,
        progress: Progress | None = None,
    ) -> None:
        self.services = services
        self.progress = progress
        self.client = client
        self.pace_seconds = pace_seconds  # bulk sends are paced below Slack's chat.postMessage limits
        self.sleep = sleep
        self._weeks: dict[str, Week] = {}  # per workspace
        self._activity = Activity()
        self._pickers: dict[str, Picker | None] = {}  # per workspace (None: no picks this pass)

    def run(self, team_id: str, *, now: datetime | None = None, dry_run: bool = False) -> PassResult:
        now = now or self.services.clock()
        result = PassResult(team_id=team_id)
        with self.services.new_session() as session:
            since = digests.candidates(session=session, team_id=team_id)  # person -> when they first had something
            users = list(since)
            known = digests.people(session=session, team_id=team_id, user_ids=users)
        if self.client is not None and not dry_run:
            known.update(self._refresh_time_zones(team_id, users, known, now))
        slots = {}
        for user_id in users:
            person = known.get(user_id)
            day, at = preferences(
                self.services.settings, person.digest_day if person else None, person.digest_time if person else None
            )
            slot = current_slot(now, weekday=day, at=at, tz_name=person.tz if person else None)
            if since[user_id] > slot:
                # New to Peershelf since this week's slot: their first digest comes on their next
                # digest day, not a minute after their first save or the first recommendation to them.
                result.not_due += 1
                continue
            slots[user_id] = slot
        if not dry_run:
            with self.services.new_session() as session:
                done = digests.settled(session=session, team_id=team_id, slots=slots, max_attempts=MAX_ATTEMPTS)
                if len(done) == len(slots):
                    result.next_at = self._next_due(session, team_id, users, known, now)
            result.not_due += len(done)
            slots = {user: slot for user, slot in slots.items() if user not in done}
        pending = sorted(slots)
        if self.progress is not None:
            self.progress.grow(len(pending))
        picker = self._picker(team_id, now, dry_run) if pending else None
        # In batches, so memory stays flat however large the workspace.
        for start in range(0, len(pending), BATCH):
            batch = {user: slots[user] for user in pending[start : start + BATCH]}
            with self.services.new_session() as session:
                built = build_all(
                    session,
                    team_id=team_id,
                    slots=batch,
                    week_for=lambda _slot: self._week(session, team_id, slots),
                    activity=self._activity,
                    picker=picker,
                    now=now,
                )
                tags = tags_of(session, [d for d in built.values() if not d.empty])
            if not dry_run:
                self._deliver_batch(team_id, built, tags, now, result)
            else:
                for user_id, digest in built.items():
                    if digest.empty:
                        result.skipped += 1
                    else:
                        result.previews.append((user_id, *render(digest, tags)))
                        result.digests.append(digest)
                        result.sent += 1
            if self.progress is not None:
                self.progress.update(len(batch))
        return result

    def _next_due(
        self, session: Session, team_id: str, users: list[str], known: dict[str, Person], now: datetime
    ) -> datetime:
        """The soonest any digest of the workspace can fall due, when none is due now: the next slot
        of everyone a digest could reach, of everyone who chose their own day or time, and of the
        default day and time in the earliest time zone, for someone who has nothing yet."""
        settings = self.services.settings
        soonest = next_slot_anywhere(now, weekday=settings.digest_day, at=settings.digest_time)
        chose = digests.with_own_schedule(session=session, team_id=team_id)
        for person in [*(known.get(user_id) for user_id in users), *chose]:
            if person is None:  # nobody knows their time zone or choices yet: the default anywhere, above
                continue
            day, at = preferences(settings, person.digest_day, person.digest_time)
            if person.tz is None:
                slot = next_slot_anywhere(now, weekday=day, at=at)
            else:
                slot = next_slot(now, weekday=day, at=at, tz_name=person.tz)
            soonest = min(soonest, slot)
        return soonest

    def _picker(self, team_id: str, now: datetime, dry_run: bool) -> Picker | None:
        """The workspace's picks for this pass, read once for all its batches. Picks that cannot be
        made leave the digests without them, never without digests."""
        if team_id not in self._pickers:
            try:
                with self.services.new_session() as session:
                    self._pickers[team_id] = picker_for(session, team_id=team_id, now=now, store_fit=not dry_run)
            except Exception:  # the trace is kept; everything else in the digests still goes out
                logger.exception("no picks for team %s this pass", team_id)
                self._pickers[team_id] = None
        return self._pickers[team_id]

    def _week(self, session: Session, team_id: str, slots: dict[str, datetime]) -> Week:
        """The week's top items by topic, read once per pass and workspace: the seven days before the
        earliest slot of the pass, so that everyone's week is in it (each zone's slot comes a few
        hours after the one before, and a digest's week is those seven days and the hours since)."""
        if team_id not in self._weeks:
            self._weeks[team_id] = week_before(session, team_id=team_id, slot=min(slots.values()))
        return self._weeks[team_id]

    def _refresh_time_zones(
        self, team_id: str, users: list[str], known: dict[str, Person], now: datetime
    ) -> dict[str, Person]:
        """Ask Slack for the time zone of anyone not looked up this week (in bulk when many)."""
        assert self.client is not None
        stale = [
            user_id
            for user_id in users
            if (person := known.get(user_id)) is None
            or not person.profile_refreshed_at
            or now - person.profile_refreshed_at >= PROFILE_MAX_AGE
        ]
        if not stale:
            return {}
        lookups.refresh(self.services, self.client, team_id, stale)
        with self.services.new_session() as session:
            return digests.people(session=session, team_id=team_id, user_ids=stale)

    def _claim(self, team_id: str, slots: dict[str, datetime], now: datetime) -> dict[str, int]:
        """Claim a batch's digests: person -> delivery id, for those this pass won."""
        with self.services.new_session() as session:
            holder = self.services.holder
            won = digests.claim_many(session=session, team_id=team_id, slots=slots, now=now, lease=LEASE, holder=holder)
            for user_id in sorted(set(slots) - set(won)):  # rows from earlier attempts: stale claims, failures
                row = digests.claim(
                    session=session,
                    team_id=team_id,
                    user_id=user_id,
                    slot_at=slots[user_id],
                    now=now,
                    lease=LEASE,
                    max_attempts=MAX_ATTEMPTS,
                    holder=holder,
                )
                if row is not None and row.id is not None:
                    won[user_id] = row.id
        return won

    def _deliver_batch(
        self, team_id: str, built: dict[str, Digest], tags: dict[int, list[str]], now: datetime, result: PassResult
    ) -> None:
        ids = self._claim(team_id, {user: digest.slot_at for user, digest in built.items()}, now)
        result.not_due += len(built) - len(ids)
        empty = [ids[user] for user, digest in built.items() if user in ids and digest.empty]
        if empty:
            with self.services.new_session() as session:
                digests.skip_many(session=session, delivery_ids=empty)
            result.skipped += len(empty)
        # One connection for the batch, in autocommit mode: each state change below is a single
        # statement, so each digest costs one round trip to the database, not a transaction.
        with self.services.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            sent: tuple[int, str | None] | None = None  # the last digest sent, recorded with the next one's mark
            for user_id, digest in built.items():
                if user_id in ids and not digest.empty:
                    sent = self._send(connection, team_id, digest, ids[user_id], tags, now, result, previous=sent)
            if sent is not None:
                digests.mark(connection, delivery_id=sent[0], status="sent", now=now, ts=sent[1])

    def _send(
        self,
        connection: Connection,
        team_id: str,
        digest: Digest,
        delivery_id: int,
        tags: dict[int, list[str]],
        now: datetime,
        result: PassResult,
        *,
        previous: tuple[int, str | None] | None,
    ) -> tuple[int, str | None] | None:
        """Send one digest; returns (delivery id, message ts) for the caller to record as sent."""
        user_id = digest.user_id
        # One statement records the previous digest as sent and this one as "sending". From here a
        # crash leaves this one "sending": never sent again, so nobody gets two digests a week.
        if not digests.advance(connection, sending=delivery_id, lease=now + LEASE, sent=previous, now=now):
            # This pass outlived its claim (long waits on Slack) and another pass took it over.
            logger.info("digest for %s of team %s was taken over by another pass", user_id, team_id)
            result.not_due += 1
            return None
        text, shown = render(digest, tags)
        assert self.client is not None
        try:
            posted = self.client.chat_postMessage(channel=user_id, text=text, blocks=shown, unfurl_links=False)
        except SlackApiError as error:  # a 429 was already waited out by the client's retry handler
            reason = str(error.response.get("error"))
            logger.warning("digest for %s of team %s not sent: %s", user_id, team_id, reason)
            digests.mark(connection, delivery_id=delivery_id, status="failed", now=now, error=reason)
            result.failed += 1
            return None
        result.sent += 1
        if self.pace_seconds:
            self.sleep(self.pace_seconds)
        return delivery_id, posted.get("ts")


NOBODY_TO_SERVE = timedelta(days=1)


def run_digests(
    services: Services, *, now: datetime | None = None, dry_run: bool = False, progress: Progress | None = None
) -> list[PassResult]:
    """One digest pass over every workspace: send each digest that is due and not yet sent.

    When the last full pass found nothing due, this reads the instant it recorded and, until then,
    does nothing more (see storage.schedule); a dry run always looks."""
    now = now or services.clock()
    basis = services.settings.digest_basis()
    if not dry_run:
        seen = schedule.begin(services.engine, basis, now=now)
        if now < seen.next_at:
            return [PassResult(next_at=seen.next_at)]
    results = []
    for team_id in workspaces(services):
        client = None if dry_run else client_for_team(services.settings, services.engine, team_id)
        if client is None and not dry_run:
            logger.warning("no bot token for team %s; its digests wait", team_id)
            continue
        results.append(DigestPass(services, client, progress=progress).run(team_id, now=now, dry_run=dry_run))
    if not dry_run:
        known = [result.next_at for result in results if result.next_at is not None]
        soonest = min(known) if known and len(known) == len(results) else None  # one unknown: look again
        if not results:  # no workspace to serve (all left, or the token was revoked): ask Slack again tomorrow
            soonest = now + NOBODY_TO_SERVE  # an install or a new token looks at once (storage.schedule)
        schedule.record(services.engine, basis, soonest, seen=seen, now=now)
    return results
