"""What `/shelf` arguments mean: links, #tags, mentions and ITEM, shared by every subcommand family."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlmodel import Session

from bot.commands.parser import Invocation, Reply, Token, UsageError
from bot.reading.links import MAX_URL, canonical_url, keepable
from bot.services import Services
from bot.services.capture import capture_typed_link
from bot.text import echo
from storage import items as item_store
from storage.models import Item

_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)+(/\S*)?$", re.UNICODE)


class ItemNotFound(LookupError):
    """No item with that number or URL that the asker may see."""


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


UNREADABLE_LINK = f"That link can't be kept: its address is malformed or longer than {MAX_URL:,} characters."


def looks_like_link(word: str) -> bool:
    return word.strip().lstrip("<").lower().startswith(("http://", "https://"))


def as_tag(word: str) -> str | None:
    if word.startswith("#") and len(word) > 1 and re.fullmatch(r"#[^\W_][\w-]{0,39}", word):
        return word[1:].lower()
    return None


def split_tags(args: list[Token]) -> tuple[list[str], list[Token]]:
    """Leading and trailing #tags apart from the other words."""
    tags = [tag for token in args if not token.quoted and (tag := as_tag(token.text))]
    rest = [token for token in args if token.quoted or not as_tag(token.text)]
    return list(dict.fromkeys(tags)), rest


MAX_ID = 2**63 - 1  # item ids are 64-bit integers


def resolve_item(
    session: Session, invocation: Invocation, word: str, services: Services, *, capture: bool = True
) -> Item:
    """ITEM is a number shown in an earlier reply, or a URL. A URL the asker cannot see yet (nobody
    shared it, or only others privately) is captured on the spot as their own private share, unless
    `capture` is False (taking an item off a list it cannot be on)."""
    if word.isascii() and word.isdigit():
        if int(word) > MAX_ID:  # no such item, and PostgreSQL would refuse to compare it
            raise ItemNotFound(word)
        item = item_store.visible_item(
            session=session, team_id=invocation.team_id, user_id=invocation.user_id, item_id=int(word)
        )
    else:
        url = as_url(word)
        if url is None:
            if looks_like_link(word):
                raise UsageError(UNREADABLE_LINK)
            raise UsageError(f"`{echo(word, 40)}` is neither an item number nor a link.")
        item = item_store.visible_item_by_url(
            session=session, team_id=invocation.team_id, user_id=invocation.user_id, canonical_url=canonical_url(url)
        )
        if item is None and capture:
            item = capture_typed_link(
                session=session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                channel_id=invocation.channel_id,
                url=url,
                now=services.clock(),
                taxonomy=services.taxonomy,
            )
    if item is None:
        raise ItemNotFound(word)
    return item


def not_found(word: str) -> Reply:
    return Reply(
        f"I can't find item `{echo(word, 40)}` among the things you can see. "
        "`/shelf mine` and `/shelf search` show item numbers."
    )


def guarded(run: Callable[[Invocation, list[Token]], Reply]) -> Callable[[Invocation, list[Token]], Reply]:
    """A subcommand whose unknown ITEM becomes a friendly reply."""

    def answer(invocation: Invocation, args: list[Token]) -> Reply:
        try:
            return run(invocation, args)
        except ItemNotFound as missing:
            return not_found(str(missing))

    return answer


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def mentioned(token: Token) -> str | None:
    """The user ID of a Slack mention as it arrives in command text: <@U123> or <@U123|name>."""
    match = _MENTION.match(token.text)
    return match.group(1) if match and not token.quoted else None


def people_list(user_ids: list[str]) -> str:
    names = [f"<@{u}>" for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
