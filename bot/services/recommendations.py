"""Recommendations: one person sending one item to a named colleague, and what the colleague does with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.services import Services
from bot.services.items import ItemView, resolve_item, view
from bot.services.lookups import known_colleague
from bot.services.shares import item_of_link
from bot.slack import blocks
from bot.text import clip
from storage import items as item_store
from storage import recommendations as rec_store
from storage import tags as tag_store
from storage.models import Item, Recommendation
from storage.people import get_person, interested_in
from storage.visibility import may_pass_on

# The recommender hears once per recipient and item, a little after the first reaction, so that
# "saved, finished and thanked" arrive as one message.
NOTICE_DELAY = timedelta(minutes=5)
MAX_SUGGESTIONS = 3
ACTIONS = ("save", "done", "thanks")


class NotAllowed(PermissionError):
    """Someone pressed a button on a recommendation that was not sent to them."""


class NotPassedOn(ValueError):
    """The item is a message saved from a private conversation: its words stay with the people there."""


PRIVATE_NOTE = (
    "That's a message saved from a private conversation, so Peershelf keeps it with the people who were there. "
    "Share a link in a public channel instead."
)


@dataclass(frozen=True)
class Sent:
    recommendation: Recommendation
    new: bool  # False: this recommender had already sent this item to this person


def recommend(
    *,
    session: Session,
    team_id: str,
    from_user: str,
    to_users: list[str],
    item: Item,
    note: str | None,
    now: datetime,
) -> list[Sent]:
    """Record one recommendation per recipient, with the sender's note clipped to 1,000 characters;
    the same item to the same person twice stays one. NotPassedOn for a note from a private
    conversation (storage.visibility.may_pass_on)."""
    if not may_pass_on(item):
        raise NotPassedOn(item.id)
    note = clip(note, 1000) if note else None
    recorded = rec_store.record(
        session=session, team_id=team_id, item=item, from_user=from_user, to_users=to_users, note=note, now=now
    )
    return [Sent(recommendation, new) for recommendation, new in recorded]


@dataclass(frozen=True)
class Recommended:
    """One recipient of `/shelf recommend`, and the recommendation to DM them when it is new."""

    to_user: str
    recommendation_id: int
    new: bool  # False: sent to them before, and not again


def recommend_item(
    services: Services,
    *,
    team_id: str,
    from_user: str,
    word: str,
    to_users: list[str],
    note: str | None,
) -> tuple[ItemView, list[Recommended]]:
    """`/shelf recommend @someone … ITEM [note]`: the item (found, or a typed link captured, even
    when no one is left to send it to), and one recommendation per recipient."""
    with services.new_session() as session:
        item = resolve_item(services, session, team_id=team_id, user_id=from_user, word=word)
        if not to_users:
            return view(item), []
        sent = recommend(
            session=session,
            team_id=team_id,
            from_user=from_user,
            to_users=to_users,
            item=item,
            note=note,
            now=services.clock(),
        )
    return view(item), [Recommended(s.recommendation.to_user_id, s.recommendation.id or 0, s.new) for s in sent]


def state(recommendation: Recommendation) -> list[str]:
    """What the recipient has done, as shown under the recommendation."""
    shown = []
    if recommendation.saved_at:
        shown.append("✓ Saved to your shelf")
    if recommendation.done_at:
        shown.append("✓ Done")
    if recommendation.thanked_at:
        shown.append("🙏 Thanked")
    return shown


def act(services: Services, *, rec_id: int, user_id: str, action: str) -> tuple[Recommendation, Item]:
    """Save, Done or Thanks on a recommendation, by its recipient only."""
    if action not in ACTIONS:
        raise ValueError(action)
    now = services.clock()
    with services.new_session() as session:
        found = rec_store.with_item(session=session, recommendation_id=rec_id)
        if found is None or found[0].to_user_id != user_id:
            raise NotAllowed(rec_id)
        recommendation, item = found
        rec_store.respond(
            session=session,
            recommendation=recommendation,
            item=item,
            action=action,
            now=now,
            notice_due_at=now + NOTICE_DELAY,
        )
    return recommendation, item


def recommendable(services: Services, *, team_id: str, user_id: str, item_id: int) -> tuple[int, str] | None:
    """The item (its number and linked title) that someone may recommend, from a Recommend button."""
    with services.new_session() as session:
        item = item_store.visible_item(session=session, team_id=team_id, user_id=user_id, item_id=item_id)
    return (item.id or 0, blocks.item_link(item)) if item is not None else None


def notice_text(recommendation: Recommendation, item_link: str) -> str:
    """`Ana saved, finished and thanked you for …`: one notice for everything done so far."""
    verbs = [v for v, when in (("saved", recommendation.saved_at), ("finished", recommendation.done_at)) if when]
    if recommendation.thanked_at:
        verbs.append("thanked you for")
    said = verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " and " + verbs[-1]
    ending = "" if recommendation.thanked_at else ", which you recommended"
    return f"<@{recommendation.to_user_id}> {said} {item_link}{ending}"


def suggestions(*, session: Session, team_id: str, item: Item, asker: str) -> list[tuple[str, list[str], str | None]]:
    """Up to three colleagues whose interests match the item's topics and who, as far as `asker`
    may know, do not have it yet: (user id, the topics they share with it, their name if known)."""
    assert item.id is not None
    if not may_pass_on(item):
        return []
    topics = tag_store.tag_names(session=session, item_ids=[item.id], viewer=None).get(item.id, [])  # in the open
    candidates = interested_in(session=session, team_id=team_id, topics=topics)
    if not candidates:
        return []
    have = {asker} | rec_store.people_known_to_have(session=session, item_id=item.id, asker=asker)
    ranked = sorted(
        ((user, shared) for user, shared in candidates.items() if user not in have),
        key=lambda pair: (-len(pair[1]), pair[0]),
    )[:MAX_SUGGESTIONS]
    return [(user, shared, _name(session, team_id, user)) for user, shared in ranked]


def _name(session: Session, team_id: str, user_id: str) -> str | None:
    person = get_person(session=session, team_id=team_id, user_id=user_id)
    return person.name if person else None


def known_refusal(services: Services, *, team_id: str, from_user: str, to_user: str) -> str | None:
    """Why `to_user` cannot be sent a recommendation (or followed) by `from_user`, as far as is
    known without asking Slack; None when nothing known stands in the way. Someone never looked up
    is checked with Slack after the ack (`recommendation_dms.deliver`)."""
    if to_user == from_user:
        return "that's you"
    known = known_colleague(services, team_id, to_user)
    return "a bot" if known is not None and known.is_bot else None


def recommend_suggested(
    services: Services, *, team_id: str, from_user: str, to_user: str, item_id: int
) -> tuple[str, list[int]]:
    """The one-click Recommend beside a save confirmation: what to tell the presser, and the new
    recommendation to DM (none when it cannot be sent)."""
    with services.new_session() as session:
        item = item_store.visible_item(session=session, team_id=team_id, user_id=from_user, item_id=item_id)
        if item is None or known_refusal(services, team_id=team_id, from_user=from_user, to_user=to_user):
            return "That recommendation can't be sent any more.", []
        if not may_pass_on(item):
            return PRIVATE_NOTE, []
        [sent] = recommend(
            session=session,
            team_id=team_id,
            from_user=from_user,
            to_users=[to_user],
            item=item,
            note=None,
            now=services.clock(),
        )
    said = "Sent" if sent.new else "You had already sent"
    text = f"{said} {blocks.item_link(item)} to <@{to_user}>."
    return text, [sent.recommendation.id or 0] if sent.new else []


@dataclass(frozen=True)
class ModalTarget:
    """What the Recommend… modal is about: an item by number, or a link of a message."""

    item_id: int | None = None
    links: tuple[str, ...] = ()
    chosen: int = 0
    channel_id: str = ""
    ts: str = ""
    thread_ts: str | None = None
    author: str | None = None


def submit_modal(
    services: Services, *, team_id: str, from_user: str, to_users: list[str], note: str | None, target: ModalTarget
) -> tuple[str | None, list[int]]:
    """The Recommend… modal sent: a problem to show in the modal, or the new recommendations to DM."""
    problems = [
        f"<@{to_user}> is {why}." if why != "that's you" else "You can't recommend something to yourself."
        for to_user in to_users
        if (why := known_refusal(services, team_id=team_id, from_user=from_user, to_user=to_user))
    ]
    if not to_users:
        problems.append("Choose at least one colleague.")
    if problems:
        return " ".join(problems), []
    item: Item | None = None
    if target.item_id is not None:
        with services.new_session() as session:
            item = item_store.visible_item(session=session, team_id=team_id, user_id=from_user, item_id=target.item_id)
    elif target.links:
        item = item_of_link(
            services,
            team_id=team_id,
            user_id=from_user,
            links=list(target.links),
            chosen=target.links[target.chosen if 0 <= target.chosen < len(target.links) else 0],
            channel_id=target.channel_id,
            ts=target.ts,
            thread_ts=target.thread_ts,
            author=target.author,
        )
    if item is None:
        return "That link can't be recommended any more.", []
    if not may_pass_on(item):
        return PRIVATE_NOTE, []
    with services.new_session() as session:
        sent = recommend(
            session=session,
            team_id=team_id,
            from_user=from_user,
            to_users=to_users,
            item=item,
            note=note,
            now=services.clock(),
        )
    return None, [s.recommendation.id or 0 for s in sent if s.new]
