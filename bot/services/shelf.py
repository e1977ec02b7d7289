"""A person's shelf from `/shelf`: saving a typed link or a book, marking done, their saves, search."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services import Services
from bot.services.capture import Saved, save_book, save_link
from bot.services.items import ItemView, resolve_item, view, views
from bot.services.recommendations import suggestions
from bot.text import clip
from storage import items as item_store


@dataclass(frozen=True)
class SavedView:
    """What `/shelf save` did: the item, whether it is newly on the shelf, and what to say of it."""

    item: ItemView
    new: bool
    noted: bool = False  # saved with the note the person gave
    pending: bool = False  # its page is still to be read
    # Colleagues whose interests match the item and who do not have it: (user id, topics, name).
    suggestions: list[tuple[str, list[str], str | None]] | None = None


@dataclass(frozen=True)
class ShelfView:
    """A person's saves, unread first: the first `limit` of them (with done or not), and the counts."""

    entries: list[tuple[ItemView, bool]]
    total: int
    unread: int


def _saved(
    saved: Saved, *, noted: bool = False, people: list[tuple[str, list[str], str | None]] | None = None
) -> SavedView:
    return SavedView(
        view(saved.item), saved.new, noted=noted, pending=saved.item.fetch_state == "pending", suggestions=people
    )


def save_typed_link(
    services: Services, *, team_id: str, user_id: str, url: str, tags: list[str], note: str | None
) -> SavedView:
    """`/shelf save URL [#tag …] [note]`: the link on the person's shelf, and, when it is new there,
    the colleagues it could be recommended to."""
    with services.transaction() as session:
        saved = save_link(
            session=session,
            team_id=team_id,
            user_id=user_id,
            url=url,
            now=services.clock(),
            tags=tags,
            note=clip(note, 2000) if note else None,
            taxonomy=services.taxonomy,
        )
    services.fetch_wakeup.set()
    if not saved.new:
        return _saved(saved)
    with services.new_session() as session:
        people = suggestions(session=session, team_id=team_id, item=saved.item, asker=user_id)
    return _saved(saved, noted=bool(note and saved.save.note), people=people)


def save_typed_book(services: Services, *, team_id: str, user_id: str, title: str, author: str | None) -> SavedView:
    """`/shelf save book "Title" by Author`."""
    with services.transaction() as session:
        saved = save_book(
            session=session, team_id=team_id, user_id=user_id, title=title, author=author, now=services.clock()
        )
    return _saved(saved)


def shelf_of(services: Services, *, team_id: str, user_id: str, tag: str | None, limit: int) -> ShelfView:
    """`/shelf mine [#tag]`: the person's saves (with `tag`), the first `limit` with their tags."""
    with services.new_session() as session:
        rows = item_store.shelf(session=session, team_id=team_id, user_id=user_id, tag=tag)
        shown = views(session, [item for _, item in rows[:limit]], viewer=user_id)
    unread = sum(1 for save, _ in rows if save.status != "done")
    done = [save.status == "done" for save, _ in rows[:limit]]
    return ShelfView(entries=list(zip(shown, done, strict=True)), total=len(rows), unread=unread)


def mark_done(services: Services, *, team_id: str, user_id: str, word: str) -> tuple[ItemView, bool]:
    """`/shelf done ITEM`: the item, and False when it was marked done already."""
    now = services.clock()
    with services.new_session() as session:
        item = resolve_item(services, session, team_id=team_id, user_id=user_id, word=word)
        newly = item_store.mark_done(
            session=session, team_id=team_id, user_id=user_id, item=item, source="command", now=now
        )
    return view(item), newly


def search(
    services: Services, *, team_id: str, user_id: str, words: str, tag: str | None, limit: int
) -> tuple[int, list[ItemView]]:
    """`/shelf search WORDS [#tag]`: how many items the person may see match, and the best `limit`."""
    with services.new_session() as session:
        found = item_store.search_visible(session=session, team_id=team_id, user_id=user_id, words=words, tag=tag)
        shown = views(session, found[:limit], viewer=user_id)
    return len(found), shown
