"""Curated lists: finding one by name and owner, what `/shelf` does with them, and each list as an
Atom feed."""

from __future__ import annotations

from dataclasses import dataclass

from feedgen.feed import FeedGenerator
from sqlmodel import Session

from bot.services import Services
from bot.services.items import ItemView, as_url, resolve_item, view, views
from bot.slack import blocks
from bot.text import clip, echo
from storage import items as item_store
from storage import lists as list_store
from storage.models import CuratedList, Item, ListItem


class ListProblem(LookupError):
    """No such list, several of that name, or not the asker's to change; the message says which."""


def find_list(session: Session, *, team_id: str, asker: str, name: str, owner: str | None) -> CuratedList:
    """The asker's own list of that name, else the one list of that name, else a clear problem."""
    if owner:
        found = list_store.lists_named(session=session, team_id=team_id, name=name, owner_id=owner)
        if not found:
            raise ListProblem(f"<@{owner}> has no list called *{echo(name, 80)}*.")
        return found[0]
    mine = list_store.lists_named(session=session, team_id=team_id, name=name, owner_id=asker)
    if mine:
        return mine[0]
    found = list_store.lists_named(session=session, team_id=team_id, name=name)
    if not found:
        raise ListProblem(f"There is no list called *{echo(name, 80)}*. `/shelf lists` shows the popular ones.")
    if len(found) > 1:
        owners = ", ".join(f"<@{c.owner_id}>" for c in found[:5])
        raise ListProblem(
            f"Several people have a list called *{echo(name, 80)}* ({owners}). "
            f'Add the owner, like `/shelf list show "{echo(name, 40)}" @someone`.'
        )
    return found[0]


def own_list(session: Session, *, team_id: str, owner: str, name: str) -> CuratedList:
    """The asker's own list of that name, else a problem saying how to create it."""
    mine = list_store.lists_named(session=session, team_id=team_id, name=name, owner_id=owner)
    if not mine:
        raise ListProblem(
            f'You have no list called *{echo(name, 80)}*. Create it with `/shelf list new "{echo(name, 40)}"`.'
        )
    return mine[0]


def feed_url(base_url: str | None, curated: CuratedList) -> str | None:
    return f"{base_url}/feeds/{curated.feed_token}.atom" if base_url else None


@dataclass(frozen=True)
class ListView:
    """A list as a reply shows it to the person who asked."""

    id: int
    name: str
    owner_id: str
    description: str | None
    feed: str | None  # its private Atom feed: for its owner's eyes only, and only with SHELF_BASE_URL


@dataclass(frozen=True)
class ListSummary:
    """A line of `/shelf lists`."""

    name: str
    owner_id: str
    items: int
    subscribers: int


@dataclass(frozen=True)
class ListAddition:
    """What `/shelf list add` did with the item."""

    curated: ListView
    item: ItemView
    added: bool  # False: on the list already, or not added as it was only shared privately
    private: bool = False  # only shared privately, so not added: lists are visible to everyone


@dataclass(frozen=True)
class ListShown:
    """`/shelf list show`: the list, its newest entries (each with its curator's note) and its sizes."""

    curated: ListView
    entries: list[tuple[ItemView, str | None]]
    items: int
    subscribers: int


def _view(services: Services, curated: CuratedList, asker: str) -> ListView:
    mine = curated.owner_id == asker
    return ListView(
        id=curated.id or 0,
        name=curated.name,
        owner_id=curated.owner_id,
        description=curated.description,
        feed=feed_url(services.settings.base_url, curated) if mine else None,
    )


def create_list(services: Services, *, team_id: str, owner: str, name: str, description: str | None) -> ListView | None:
    """`/shelf list new "Name" [description]`: the new list, or None when the owner has one of that name."""
    with services.new_session() as session:
        try:
            created = list_store.create_list(
                session=session,
                team_id=team_id,
                owner_id=owner,
                name=clip(name, 255),
                description=clip(description, 1000) if description else None,
                now=services.clock(),
            )
        except list_store.DuplicateName:
            return None
        return _view(services, created, owner)


def add_item_to_list(
    services: Services, *, team_id: str, user_id: str, name: str, word: str, note: str | None
) -> ListAddition:
    """`/shelf list add "Name" ITEM [note]`: the item on the person's own list, unless it was only
    shared privately (a link they typed counts as published by them)."""
    with services.new_session() as session:
        curated = own_list(session, team_id=team_id, owner=user_id, name=name)
        shown = _view(services, curated, user_id)
        item = resolve_item(services, session, team_id=team_id, user_id=user_id, word=word)
        if not item.is_public and as_url(word):
            # A link the curator typed is web content they chose to publish, as a feed's entries
            # are; their own words and tags on it stay as private as they were written.
            item_store.make_public(session=session, item=item)
        if not item.is_public:
            # Lists are visible to the whole workspace; a privately shared link stays private.
            return ListAddition(shown, view(item), added=False, private=True)
        _, new = list_store.add_to_list(
            session=session,
            curated=curated,
            item=item,
            note=clip(note, 1000) if note else None,
            by=user_id,
            now=services.clock(),
        )
    return ListAddition(shown, view(item), added=new)


def remove_item_from_list(
    services: Services, *, team_id: str, user_id: str, name: str, word: str
) -> tuple[ListView, ItemView, bool]:
    """`/shelf list remove "Name" ITEM`: the list, the item, and False when it was not on the list."""
    with services.new_session() as session:
        curated = own_list(session, team_id=team_id, owner=user_id, name=name)
        shown = _view(services, curated, user_id)
        item = resolve_item(services, session, team_id=team_id, user_id=user_id, word=word, capture=False)
        gone = list_store.remove_from_list(session=session, curated=curated, item=item)
        if gone:  # public only while a public share or a list still shows it
            shown_item = view(item)
            item_store.settle_items(session=session, item_ids=[item.id or 0])
            session.commit()
            return shown, shown_item, gone
    return shown, view(item), gone


def show_list(services: Services, *, team_id: str, asker: str, name: str, owner: str | None, limit: int) -> ListShown:
    """`/shelf list show "Name" [@owner]`: the list with its newest `limit` entries."""
    with services.new_session() as session:
        curated = find_list(session, team_id=team_id, asker=asker, name=name, owner=owner)
        entries = list_store.list_items(session=session, curated=curated)
        subscribers = list_store.subscriber_counts(session=session, list_ids=[curated.id or 0]).get(curated.id or 0, 0)
        shown = views(session, [item for _, item in entries[:limit]], viewer=asker)
        notes = [entry.note for entry, _ in entries[:limit]]
        found = _view(services, curated, asker)
    return ListShown(found, list(zip(shown, notes, strict=True)), items=len(entries), subscribers=subscribers)


def list_summaries(services: Services, *, team_id: str, owner: str | None) -> list[ListSummary]:
    """`/shelf lists [@someone]`: someone's lists, or the workspace's most subscribed ones."""
    with services.new_session() as session:
        if owner:
            found = list_store.lists_of(session=session, team_id=team_id, owner_id=owner)
            counts = list_store.subscriber_counts(session=session, list_ids=[c.id or 0 for c in found])
            ranked = [(c, counts.get(c.id or 0, 0)) for c in found]
        else:
            ranked = list_store.most_subscribed(session=session, team_id=team_id)
        sizes = list_store.item_counts(session=session, list_ids=[c.id or 0 for c, _ in ranked])
    return [ListSummary(c.name, c.owner_id, sizes.get(c.id or 0, 0), n) for c, n in ranked]


def subscribe(services: Services, *, team_id: str, user_id: str, name: str, owner: str | None) -> tuple[ListView, bool]:
    """`/shelf subscribe "Name" [@owner]`: the list, and False when the person subscribed already."""
    with services.new_session() as session:
        curated = find_list(session, team_id=team_id, asker=user_id, name=name, owner=owner)
        shown = _view(services, curated, user_id)
        new = list_store.subscribe(session=session, curated=curated, user_id=user_id, now=services.clock())
    return shown, new


def unsubscribe(
    services: Services, *, team_id: str, user_id: str, name: str, owner: str | None
) -> tuple[ListView, bool]:
    """`/shelf unsubscribe "Name" [@owner]`: the list, and False when the person was not subscribed."""
    with services.new_session() as session:
        curated = find_list(session, team_id=team_id, asker=user_id, name=name, owner=owner)
        shown = _view(services, curated, user_id)
        gone = list_store.unsubscribe(session=session, curated=curated, user_id=user_id)
    return shown, gone


def add_feed(services: Services, *, team_id: str, user_id: str, name: str, url: str) -> tuple[ListView, bool]:
    """`/shelf feed add "Name" FEED_URL`: the person's own list, and False when it followed the feed already."""
    with services.new_session() as session:
        curated = own_list(session, team_id=team_id, owner=user_id, name=name)
        shown = _view(services, curated, user_id)
        _, new = list_store.add_feed(session=session, curated=curated, url=url, by=user_id, now=services.clock())
    return shown, new


def atom(curated: CuratedList, entries: list[tuple[ListItem, Item]], *, owner: str, base_url: str | None) -> bytes:
    """The list as an Atom document: newest additions first, curator notes as content."""
    generator = FeedGenerator()
    self_url = feed_url(base_url, curated)
    generator.id(self_url or f"urn:peershelf:list:{curated.feed_token}")
    generator.title(curated.name)
    generator.subtitle(curated.description or f"A list curated by {owner} on Peershelf")
    generator.author(name=owner)
    if self_url:
        generator.link(href=self_url, rel="self")
    generator.generator("Peershelf")
    shown = [(entry, item) for entry, item in entries if item.is_public]
    generator.updated(shown[0][0].added_at if shown else curated.created_at)
    for entry, item in shown:
        feed_entry = generator.add_entry(order="append")
        feed_entry.id(item.canonical_url)
        feed_entry.title(blocks.display_title(item))
        if item.url.startswith(("http://", "https://")):
            feed_entry.link(href=item.url)
        content = entry.note or item.description or ""
        if content:
            feed_entry.content(content, type="text")
        feed_entry.published(entry.added_at)
        feed_entry.updated(entry.added_at)
    document: bytes = generator.atom_str(pretty=True)
    return document
