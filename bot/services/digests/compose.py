"""The weekly digest: what goes in each person's, from a snapshot read for many people at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.services import Services
from bot.services.picks import Fresh, Pick, Picker, cached_picker
from bot.slack import blocks
from storage import digests
from storage import tags as tag_store
from storage.snapshot import Activity, ItemCard, Snapshot, cards_by_id, last_sent, shares_by, visibility

logger = logging.getLogger(__name__)

PER_SECTION = 5
UNREAD_REMINDERS = 3
WEEK = timedelta(days=7)
FIRST_DIGEST_LOOKBACK = WEEK
LONGEST_LOOKBACK = timedelta(days=28)  # someone back after a month away gets the last four weeks

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
    sections: list[tuple[str, Sequence[tuple[int, str | Pick]]]]  # a pick's reason is worked out once it is chosen
    public_only: set[str]  # titles of sections that may only hold public items the person did not share


PICKED = "Picked for you"


def plan(
    snapshot: Snapshot,
    *,
    user_id: str,
    slot_at: datetime,
    since: datetime,
    topics: list[str],
    week: Week,
    picked: list[tuple[int, Pick]] = (),  # type: ignore[assignment]
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
        (item_id, blocks.people_count(scores[item_id])) for item_id in sorted(scores, key=lambda i: (-scores[i], -i))
    ]
    unread = [(item_id, "waiting on your shelf") for item_id in snapshot.unread.get(user_id, [])]
    return Plan(
        user_id,
        slot_at,
        [
            ("Recommended to you", recommended[: PER_SECTION * 2]),
            (PICKED, list(picked)[: PER_SECTION * 2]),
            ("New in lists you subscribe to", additions[: PER_SECTION * 2]),
            ("New from people you follow", followed[: PER_SECTION * 3]),
            ("Top of the week in your interests", top[: PER_SECTION * 2]),
            ("Still on your shelf", unread[: UNREAD_REMINDERS * 2]),
        ],
        {PICKED, "New in lists you subscribe to", "New from people you follow", "Top of the week in your interests"},
    )


Choice = list[tuple[str, list[tuple[int, str]]]]  # sections as titles and (item id, why)


def choose(plan_: Plan, public: dict[int, bool], own_shares: set[tuple[str, int]]) -> Choice:
    """Sections in order, only where not empty, five items each (three reminders); an item appears
    once; a person's own shares never fill their own sections; private items only where the
    person may see them (recommended to them, on their shelf). `public` holds every existing item.

    Picks are chosen last, though shown second: what someone asked for (their lists, follows and
    interests) keeps its place, and picks bring what those sections do not already hold."""
    seen: set[int] = set()
    by_title: dict[str, list[tuple[int, str]]] = {}
    for title, candidates in sorted(plan_.sections, key=lambda section: section[0] == PICKED):
        limit = UNREAD_REMINDERS if title == "Still on your shelf" else PER_SECTION
        entries: list[tuple[int, str]] = []
        for item_id, why in candidates:
            if item_id not in public or item_id in seen or len(entries) >= limit:
                continue
            if title in plan_.public_only and (not public[item_id] or (plan_.user_id, item_id) in own_shares):
                continue
            seen.add(item_id)
            entries.append((item_id, why if isinstance(why, str) else why.why))
        by_title[title] = entries
    return [(title, by_title[title]) for title, _ in plan_.sections if by_title.get(title)]


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
    picker: Picker | Fresh | None = None,
    now: datetime | None = None,
) -> dict[str, Digest]:
    """Everyone's digest for their slot, from a handful of queries in all (see storage.snapshot),
    with `picker`'s picks for each (from what reached the open since their last digest, as it
    stands at `now`: by default their slot)."""
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
    interests = digests.interests(session=session, team_id=team_id, users=users)
    picked: dict[str, list[Pick]] = {}
    if picker is not None:
        until = now or max(slots.values())
        # Since their last digest; for a first one, the seven days before it is made.
        windows = {user: (sinces[user] if user in sent else until - WEEK, max(until, slots[user])) for user in users}
        # A few beyond five: a pick another section already holds gives way to the next.
        try:
            picked = picker.pick(windows, limit=PER_SECTION + 3, first={user for user in users if user not in sent})
        except Exception:  # the rest of each digest still goes out; the trace is kept
            logger.exception("no picks for %s people of team %s", len(users), team_id)
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
                picked=[(pick.item_id, pick) for pick in picked.get(user_id, [])],
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
            [(item, why, tags.get(item.id or 0, [])) for item, why in section.entries],
        )
        for section in digest.sections
    ]
    return text, blocks.digest_blocks(sections, dismissable={PICKED})


def tags_of(session: Session, digests_: list[Digest]) -> dict[int, list[str]]:
    items = sorted({item.id for d in digests_ for item in d.items()})
    return tag_store.tag_names(session=session, item_ids=items, viewer=None)  # what was given in the open


def week_before(session: Session, *, team_id: str, slot: datetime) -> Week:
    """The week's top items by topic in the seven days before `slot`: "top of the week in your interests"."""
    return digests.weekly_top(session=session, team_id=team_id, since=slot - WEEK)


def preview(services: Services, *, team_id: str, user_id: str) -> tuple[str, list[blocks.Block]] | None:
    """`/shelf digest`: the person's next digest as it stands now, or None when it would be empty."""
    now = services.clock()
    with services.new_session() as session:
        built = build_all(
            session,
            team_id=team_id,
            slots={user_id: now},
            week_for=lambda slot: week_before(session, team_id=team_id, slot=slot),
            picker=Fresh(cached_picker(session, team_id=team_id, now=now), session, team_id, now),
            now=now,
        )[user_id]
        if built.empty:
            return None
        return render(built, tags_of(session, [built]))
