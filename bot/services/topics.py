"""Topics from `/shelf`: a person's tags on an item (and taking wrong ones off), their interests,
and the week's top items."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.services import Services
from bot.services.items import ItemView, resolve_item, view, views
from storage import activity, people
from storage import tags as tag_store
from storage.models import Item


def _tags_of(session: Session, item: Item, viewer: str) -> list[str]:
    return tag_store.tag_names(session=session, item_ids=[item.id or 0], viewer=viewer).get(item.id or 0, [])


def tag_item(services: Services, *, team_id: str, user_id: str, word: str, tags: list[str]) -> ItemView:
    """`/shelf tag ITEM #a #b`: the item, with every tag it now has that the person may see."""
    now = services.clock()
    with services.transaction() as session:
        item = resolve_item(services, session, team_id=team_id, user_id=user_id, word=word)
        tag_store.add_tags(
            session=session, item=item, tags=tags, source="person", now=now, by=user_id, private=not item.is_public
        )
        tagged = view(item, _tags_of(session, item, user_id))
    return tagged


def untag_item(
    services: Services, *, team_id: str, user_id: str, word: str, tags: list[str]
) -> tuple[ItemView, list[str]]:
    """`/shelf untag ITEM #a`: the item with the tags it keeps (that the person may see), and those
    taken off (only tags the person could see were there to take)."""
    now = services.clock()
    with services.transaction() as session:
        item = resolve_item(services, session, team_id=team_id, user_id=user_id, word=word)
        removed = tag_store.remove_tags(session=session, item=item, tags=tags, by=user_id, now=now)
        kept = view(item, _tags_of(session, item, user_id))
    return kept, removed


def interests_of(services: Services, *, team_id: str, user_id: str) -> list[str]:
    with services.new_session() as session:
        return people.interests_of(session=session, team_id=team_id, user_id=user_id)


def set_interests(services: Services, *, team_id: str, user_id: str, topics: list[str]) -> None:
    """The person's interests from now on (none: cleared)."""
    with services.new_session() as session:
        people.set_interests(session=session, team_id=team_id, user_id=user_id, topics=topics, now=services.clock())


def top_items(
    services: Services, *, team_id: str, viewer: str, since: datetime, tag: str | None
) -> list[tuple[ItemView, int]]:
    """`/shelf top [#tag]`: public items by how many colleagues took to them since `since`, with the
    tags `viewer` may see."""
    with services.new_session() as session:
        ranked = activity.top_items(session=session, team_id=team_id, since=since, tag=tag)
        shown = views(session, [item for item, _ in ranked], viewer=viewer)
    return [(item, count) for item, (_, count) in zip(shown, ranked, strict=True)]
