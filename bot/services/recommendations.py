"""Recommendations: one person sending one item to a named colleague, and what the colleague does with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import items as item_store
from storage.models import Item, Recommendation, Save, Share
from storage.people import get_person, interested_in

# The recommender hears once per recipient and item, a little after the first reaction, so that
# "saved, finished and thanked" arrive as one message.
NOTICE_DELAY = timedelta(minutes=5)
MAX_SUGGESTIONS = 3


class NotAllowed(PermissionError):
    """Someone pressed a button on a recommendation that was not sent to them."""


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
    """Record one recommendation per recipient; the same item to the same person twice stays one."""
    assert item.id is not None
    sent = []
    for to_user in dict.fromkeys(to_users):
        existing = _find(session, team_id, item.id, from_user, to_user)
        if existing is not None:
            sent.append(Sent(existing, False))
            continue
        created = Recommendation(
            team_id=team_id, item_id=item.id, from_user_id=from_user, to_user_id=to_user, note=note, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(created)
        except IntegrityError:  # the same recommendation, sent twice at once
            found = _find(session, team_id, item.id, from_user, to_user)
            assert found is not None
            sent.append(Sent(found, False))
            continue
        sent.append(Sent(created, True))
    session.commit()
    return sent


def _find(session: Session, team_id: str, item_id: int, from_user: str, to_user: str) -> Recommendation | None:
    statement = select(Recommendation).where(
        Recommendation.team_id == team_id,
        Recommendation.item_id == item_id,
        Recommendation.from_user_id == from_user,
        Recommendation.to_user_id == to_user,
    )
    return session.exec(statement).first()


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


def act(*, session: Session, rec_id: int, user_id: str, action: str, now: datetime) -> tuple[Recommendation, Item]:
    """Save, Done or Thanks on a recommendation, by its recipient only."""
    recommendation = session.get(Recommendation, rec_id)
    if recommendation is None or recommendation.to_user_id != user_id:
        raise NotAllowed(rec_id)
    item = session.get(Item, recommendation.item_id)
    assert item is not None
    if action in ("save", "done"):
        save, _ = item_store.save_item(
            session=session,
            team_id=recommendation.team_id,
            user_id=user_id,
            item=item,
            source="recommendation",
            now=now,
        )
        recommendation.saved_at = recommendation.saved_at or now
        if action == "done":
            save.status, save.done_at = "done", save.done_at or now
            session.add(save)
            recommendation.done_at = recommendation.done_at or now
    elif action == "thanks":
        recommendation.thanked_at = recommendation.thanked_at or now
    else:
        raise ValueError(action)
    if recommendation.notified_at is None and recommendation.notice_due_at is None:
        recommendation.notice_due_at = now + NOTICE_DELAY
    session.add(recommendation)
    session.commit()
    return recommendation, item


def notice_text(recommendation: Recommendation, item_link: str) -> str:
    """`Ana saved, finished and thanked you for …`: one notice for everything done so far."""
    verbs = [v for v, when in (("saved", recommendation.saved_at), ("finished", recommendation.done_at)) if when]
    if recommendation.thanked_at:
        verbs.append("thanked you for")
    said = verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " and " + verbs[-1]
    ending = "" if recommendation.thanked_at else ", which you recommended"
    return f"<@{recommendation.to_user_id}> {said} {item_link}{ending}"


def due_notices(*, session: Session, now: datetime, limit: int = 200) -> list[Recommendation]:
    statement = (
        select(Recommendation)
        .where(col(Recommendation.notice_due_at) <= now, col(Recommendation.notified_at).is_(None))
        .order_by(col(Recommendation.notice_due_at))
        .limit(limit)
    )
    return list(session.exec(statement))


def undelivered(*, session: Session, older_than: datetime, limit: int = 200) -> list[Recommendation]:
    """Recommendations whose DM never went out (a crash, Slack away): sent again by the scheduler."""
    statement = (
        select(Recommendation)
        .where(col(Recommendation.dm_ts).is_(None), col(Recommendation.created_at) <= older_than)
        .order_by(col(Recommendation.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def suggestions(
    *, session: Session, team_id: str, item: Item, exclude: set[str]
) -> list[tuple[str, list[str], str | None]]:
    """Up to three colleagues whose interests match the item's topics and who do not have it yet."""
    assert item.id is not None
    topics = [t.tag for t in item_store.active_tags(session=session, item_ids=[item.id]).get(item.id, [])]
    candidates = interested_in(session=session, team_id=team_id, topics=topics)
    if not candidates:
        return []
    have = set(exclude)
    have |= set(session.exec(select(Save.user_id).where(Save.item_id == item.id)))
    have |= set(session.exec(select(Share.user_id).where(Share.item_id == item.id)))
    have |= set(session.exec(select(Recommendation.to_user_id).where(Recommendation.item_id == item.id)))
    ranked = sorted(
        ((user, shared) for user, shared in candidates.items() if user not in have),
        key=lambda pair: (-len(pair[1]), pair[0]),
    )[:MAX_SUGGESTIONS]
    return [(user, shared, _name(session, team_id, user)) for user, shared in ranked]


def _name(session: Session, team_id: str, user_id: str) -> str | None:
    person = get_person(session=session, team_id=team_id, user_id=user_id)
    return person.name if person else None
