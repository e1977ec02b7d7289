"""Curated lists: finding one by name and owner, and each list as an Atom feed."""

from __future__ import annotations

from feedgen.feed import FeedGenerator
from sqlmodel import Session

from bot.slack import blocks
from bot.text import echo
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
