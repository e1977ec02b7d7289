"""Items as a command names them (ITEM: a number or a link) and as it shows them (`ItemView`).

A command gets what it shows from here and from the services that use this module, never the
stored rows: what an `ItemView` holds is what the asker may see, its tags included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlmodel import Session

from bot.reading.links import MAX_URL, canonical_url, keepable
from bot.services import Services
from bot.services.capture import capture_typed_link
from bot.text import echo
from storage import items as item_store
from storage import tags as tag_store
from storage.models import Item

_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)+(/\S*)?$", re.UNICODE)
MAX_ID = 2**63 - 1  # item ids are 64-bit integers
UNREADABLE_LINK = f"That link can't be kept: its address is malformed or longer than {MAX_URL:,} characters."


class ItemNotFound(LookupError):
    """No item with that number or URL that the asker may see."""


class NotAnItem(ValueError):
    """The word given as ITEM is neither an item number nor a link that can be kept; `problem`
    says which, in the asker's terms (a command answers it with its usage line)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class ItemView:
    """An item as a reply shows it: the columns of its line, and the tags the asker may see."""

    id: int
    url: str
    title: str | None
    kind: str
    site_name: str | None
    author: str | None
    duration_seconds: int | None
    tags: tuple[str, ...] = ()


def view(item: Item, tags: Sequence[str] = ()) -> ItemView:
    return ItemView(
        id=item.id or 0,
        url=item.url,
        title=item.title,
        kind=item.kind,
        site_name=item.site_name,
        author=item.author,
        duration_seconds=item.duration_seconds,
        tags=tuple(tags),
    )


def views(session: Session, items: Sequence[Item], *, viewer: str) -> list[ItemView]:
    """The items with the tags `viewer` may see (one query for them all)."""
    tags = tag_store.tag_names(session=session, item_ids=[item.id or 0 for item in items], viewer=viewer)
    return [view(item, tags.get(item.id or 0, [])) for item in items]


def as_url(word: str) -> str | None:
    """A URL as typed in command text: with or without Slack's <…>, with or without https://."""
    word = word.strip()
    if word.startswith("<") and word.endswith(">"):
        word = word[1:-1].split("|", 1)[0]
    if word.lower().startswith(("http://", "https://")):
        return word if _readable(word) else None
    if _DOMAIN.match(word) and not word.replace(".", "").isdigit():
        return "https://" + word if _readable("https://" + word) else None
    return None


def _readable(url: str) -> bool:
    """A URL with a host that parses (`http://[::1` or `https://[nope]/` is not one) and a length
    Peershelf can keep."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return bool(parts.hostname) and keepable(url)


def looks_like_link(word: str) -> bool:
    return word.strip().lstrip("<").lower().startswith(("http://", "https://"))


def resolve_item(
    services: Services,
    session: Session,
    *,
    team_id: str,
    user_id: str,
    word: str,
    capture: bool = True,
) -> Item:
    """ITEM is a number shown in an earlier reply, or a URL. A URL the asker cannot see yet (nobody
    shared it, or only others privately) is captured on the spot as their own private share, unless
    `capture` is False (taking an item off a list it cannot be on)."""
    if word.isascii() and word.isdigit():
        if int(word) > MAX_ID:  # no such item, and PostgreSQL would refuse to compare it
            raise ItemNotFound(word)
        item = item_store.visible_item(session=session, team_id=team_id, user_id=user_id, item_id=int(word))
    else:
        url = as_url(word)
        if url is None:
            if looks_like_link(word):
                raise NotAnItem(UNREADABLE_LINK)
            raise NotAnItem(f"`{echo(word, 40)}` is neither an item number nor a link.")
        item = item_store.visible_item_by_url(
            session=session, team_id=team_id, user_id=user_id, canonical_url=canonical_url(url)
        )
        if item is None and capture:
            item = capture_typed_link(
                session=session,
                team_id=team_id,
                user_id=user_id,
                url=url,
                now=services.clock(),
                taxonomy=services.taxonomy,
            )
    if item is None:
        raise ItemNotFound(word)
    return item
