"""The weekly digest: what goes in it, and the pass that sends each one once."""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from bot import blocks, directory
from bot.directory import PROFILE_MAX_AGE
from bot.schedule import current_slot, preferences
from bot.services import Services
from storage import digests
from storage import items as item_store
from storage.db import one_of
from storage.models import DigestDelivery, Interest, Person
from storage.snapshot import Activity, ItemCard, Snapshot, cards_by_id, last_sent, shares_by, visibility

logger = logging.getLogger(__name__)

PER_SECTION = 5
UNREAD_REMINDERS = 3
LEASE = timedelta(minutes=10)  # a claim older than this, never sent, is taken over
MAX_ATTEMPTS = 5
FIRST_DIGEST_LOOKBACK = timedelta(days=7)
LONGEST_LOOKBACK = timedelta(days=28)  # someone back after a month away gets the last four weeks
FINAL = ("sent", "skipped", "sending")  # deliveries a pass never touches again
BATCH = 1000  # people whose digests are built together

Week = dict[str, list[tuple[int, int]]]  # topic -> [(item id, people)], from storage.digests.weekly_top


@dataclass
class Section:
    title: str
    entries: list[tuple[ItemCard, str]]  # item and why it is here


@dataclass
class Digest:
    user_id: str
    slot_at: datetime
    sections: list[Section] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(section.entries for section in self.sections)

    def items(self) -> list[ItemCard]:
        return [item for section in self.sections for item, _ in section.entries]


@dataclass
class Plan:
    """One person's digest as item ids and reasons, before items are loaded."""

    user_id: str
    slot_at: datetime
    sections: list[tuple[str, list[tuple[int, str]]]]
    public_only: set[str]  # titles of sections that may only hold public items the person did not share


def plan(
    snapshot: Snapshot, *, user_id: str, slot_at: datetime, since: datetime, topics: list[str], week: Week
) -> Plan:
    """Candidate items per section, in order, generously: the final cut happens once items are known."""
    recommended = [
        (item_id, f"recommended by <@{who}>")
        for item_id, who, _ in snapshot.recommended.get(user_id, [])
        if (user_id, item_id) not in snapshot.done
    ]
    additions = [
        (item_id, f"in _{blocks.slack_escape(name)}_")
        for item_id, name, when, by in snapshot.list_additions.get(user_id, [])
        if when >= since and by != user_id
    ]
    activity: list[tuple[datetime, int, str]] = []
    for followee in snapshot.follows.get(user_id, []):
        activity += [
            (when, item_id, f"shared by <@{followee}>")
            for item_id, when in snapshot.shared.get(followee, [])
            if when >= since
        ]
        activity += [
            (when, item_id, f"saved by <@{followee}>")
            for item_id, when in snapshot.saved.get(followee, [])
            if when >= since
        ]
    activity.sort(key=lambda row: row[0], reverse=True)
    followed = [(item_id, why) for _, item_id, why in activity]
    scores: dict[int, int] = {}
    for topic in topics:
        for item_id, people in week.get(topic, []):
            scores[item_id] = max(scores.get(item_id, 0), people)
    top = [
        (item_id, f"{scores[item_id]} {'person' if scores[item_id] == 1 else 'people'}")
        for item_id in sorted(scores, key=lambda i: (-scores[i], -i))
    ]
    unread = [(item_id, "waiting on your shelf") for item_id in snapshot.unread.get(user_id, [])]
    return Plan(
        user_id,
        slot_at,
        [
            ("Recommended to you", recommended[: PER_SECTION * 2]),
            ("New in lists you subscribe to", additions[: PER_SECTION * 2]),
            ("New from people you follow", followed[: PER_SECTION * 3]),
            ("Top of the week in your interests", top[: PER_SECTION * 2]),
            ("Still on your shelf", unread[: UNREAD_REMINDERS * 2]),
        ],
        {"New in lists you subscribe to", "New from people you follow", "Top of the week in your interests"},
    )


Choice = list[tuple[str, list[tuple[int, str]]]]  # sections as titles and (item id, why)


def choose(plan_: Plan, public: dict[int, bool], own_shares: set[tuple[str, int]]) -> Choice:
    """Sections in order, only where not empty, five items each (three reminders); an item appears
    once; a person's own shares never fill their own sections; private items only where the
    person may see them (recommended to them, on their shelf). `public` holds every existing item."""
    chosen: Choice = []
    seen: set[int] = set()
    for title, candidates in plan_.sections:
        limit = UNREAD_REMINDERS if title == "Still on your shelf" else PER_SECTION
        entries: list[tuple[int, str]] = []
        for item_id, why in candidates:
            if item_id not in public or item_id in seen or len(entries) >= limit:
                continue
            if title in plan_.public_only and (not public[item_id] or (plan_.user_id, item_id) in own_shares):
                continue
            seen.add(item_id)
            entries.append((item_id, why))
        if entries:
            chosen.append((title, entries))
    return chosen


def assemble(user_id: str, slot_at: datetime, chosen: Choice, items: dict[int, ItemCard]) -> Digest:
    """The digest of the chosen items (one removed meanwhile simply drops out)."""
    digest = Digest(user_id, slot_at)
    for title, entries in chosen:
        found = [(items[item_id], why) for item_id, why in entries if item_id in items]
        if found:
            digest.sections.append(Section(title, found))
    return digest


def _since(slot: datetime, last: datetime | None) -> datetime:
    """New since the last digest (at most four weeks back), or the last seven days for a first one."""
    return max(last, slot - LONGEST_LOOKBACK) if last is not None and last < slot else slot - FIRST_DIGEST_LOOKBACK


def build_all(
    session: Session,
    *,
    team_id: str,
    slots: dict[str, datetime],
    week_for: Callable[[datetime], Week],
    activity: Activity | None = None,
) -> dict[str, Digest]:
    """Everyone's digest for their slot, from a handful of queries in all (see storage.snapshot)."""
    users = sorted(slots)
    if not users:
        return {}
    sent = last_sent(session, team_id=team_id, users=users)
    sinces = {user: _since(slots[user], sent.get(user)) for user in users}
    snapshot = Snapshot.load(
        session,
        team_id=team_id,
        users=users,
        since=min(sinces.values()),
        activity=activity,
        activity_since=min(slots.values()) - LONGEST_LOOKBACK,
    )
    interests: dict[str, list[str]] = {}
    for start in range(0, len(users), 900):
        for interest in session.exec(
            select(Interest)
            .where(Interest.team_id == team_id, one_of(session, col(Interest.user_id), users[start : start + 900]))
            .order_by(col(Interest.id))
        ):
            interests.setdefault(interest.user_id, []).append(interest.topic)
    plans = []
    for user_id in users:
        slot = slots[user_id]
        since = sinces[user_id]
        plans.append(
            plan(
                snapshot,
                user_id=user_id,
                slot_at=slot,
                since=since,
                topics=interests.get(user_id, []),
                week=week_for(slot),
            )
        )
    public = visibility(session, {item_id for p in plans for _, candidates in p.sections for item_id, _ in candidates})
    pairs = {
        (p.user_id, item_id)
        for p in plans
        for title, candidates in p.sections
        if title in p.public_only
        for item_id, _ in candidates
    }
    own = shares_by(session, team_id=team_id, pairs=pairs)
    chosen = {p.user_id: choose(p, public, own) for p in plans}
    # Whole items only for what made the cut: a few per person instead of every candidate.
    items = cards_by_id(session, {item_id for c in chosen.values() for _, entries in c for item_id, _ in entries})
    return {user_id: assemble(user_id, slots[user_id], c, items) for user_id, c in chosen.items()}


def render(digest: Digest, tags: dict[int, list[str]]) -> tuple[str, list[blocks.Block]]:
    """The DM: fallback text and blocks within Block Kit's limits."""
    counts = ", ".join(f"{len(s.entries)} {s.title[0].lower() + s.title[1:]}" for s in digest.sections)
    text = f"Your weekly Peershelf digest: {counts}."
    sections = [
        (
            section.title,
            [(item, why, " ".join(f"#{t}" for t in tags.get(item.id or 0, [])[:3])) for item, why in section.entries],
        )
        for section in digest.sections
    ]
    return text, blocks.digest_blocks(sections)


def tags_of(session: Session, digests_: list[Digest]) -> dict[int, list[str]]:
    ids = sorted({item.id for d in digests_ for item in d.items()})
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), 900):
        found.update(item_store.tag_names(session=session, item_ids=ids[start : start + 900]))
    return found


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
        self._weeks: dict[datetime, Week] = {}
        self._activity = Activity()

    def run(self, team_id: str, *, now: datetime | None = None, dry_run: bool = False) -> PassResult:
        now = now or self.services.clock()
        result = PassResult()
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
                done = self._finished(session, team_id, slots)
            result.not_due += len(done)
            slots = {user: slot for user, slot in slots.items() if user not in done}
        pending = sorted(slots)
        # In batches, so memory stays flat however large the workspace.
        for start in range(0, len(pending), BATCH):
            batch = {user: slots[user] for user in pending[start : start + BATCH]}
            with self.services.new_session() as session:
                built = build_all(
                    session,
                    team_id=team_id,
                    slots=batch,
                    week_for=lambda slot: self._week(session, team_id, slot),
                    activity=self._activity,
                )
                tags = tags_of(session, [d for d in built.values() if not d.empty])
            if not dry_run:
                self._deliver_batch(team_id, built, tags, now, result)
                continue
            for user_id, digest in built.items():
                if digest.empty:
                    result.skipped += 1
                else:
                    result.previews.append((user_id, *render(digest, tags)))
                    result.sent += 1
        return result

    def _finished(self, session: Session, team_id: str, slots: dict[str, datetime]) -> set[str]:
        """People whose delivery for their slot is already settled, read in one query per slot."""
        by_slot: dict[datetime, list[str]] = {}
        for user, slot in slots.items():
            by_slot.setdefault(slot, []).append(user)
        settled: set[str] = set()
        for slot, users in by_slot.items():
            for start in range(0, len(users), 900):
                settled |= set(
                    session.exec(
                        select(DigestDelivery.user_id).where(
                            DigestDelivery.team_id == team_id,
                            DigestDelivery.slot_at == slot,
                            one_of(session, col(DigestDelivery.user_id), users[start : start + 900]),
                            col(DigestDelivery.status).in_(FINAL),
                        )
                    )
                )
        return settled

    def _week(self, session: Session, team_id: str, slot: datetime) -> Week:
        """The week's top items by topic, computed once per distinct slot in a pass."""
        if slot not in self._weeks:
            self._weeks[slot] = digests.weekly_top(session=session, team_id=team_id, since=slot - timedelta(days=7))
        return self._weeks[slot]

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
        directory.refresh(self.services, self.client, team_id, stale)
        with self.services.new_session() as session:
            return digests.people(session=session, team_id=team_id, user_ids=stale)

    def _claim(self, team_id: str, slots: dict[str, datetime], now: datetime) -> dict[str, int]:
        """Claim a batch's digests: person -> delivery id, for those this pass won."""
        with self.services.new_session() as session:
            won = digests.claim_many(session=session, team_id=team_id, slots=slots, now=now, lease=LEASE)
            for user_id in sorted(set(slots) - set(won)):  # rows from earlier attempts: stale claims, failures
                row = digests.claim(
                    session=session,
                    team_id=team_id,
                    user_id=user_id,
                    slot_at=slots[user_id],
                    now=now,
                    lease=LEASE,
                    max_attempts=MAX_ATTEMPTS,
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


def preview(services: Services, *, team_id: str, user_id: str) -> tuple[str, list[blocks.Block]] | None:
    """`/shelf digest`: the person's next digest as it stands now, or None when it would be empty."""
    now = services.clock()
    with services.new_session() as session:
        built = build_all(
            session,
            team_id=team_id,
            slots={user_id: now},
            week_for=lambda slot: digests.weekly_top(session=session, team_id=team_id, since=slot - timedelta(days=7)),
        )[user_id]
        if built.empty:
            return None
        return render(built, tags_of(session, [built]))
