"""Capture: links, books and ISBNs in messages become items, shares and saves.

Fast and durable: only database writes happen here, so the Slack ack never waits for a page.
Pages are fetched later by the metadata worker from the queue these rows form. The functions
write through one session and leave the commit to the caller's `services.transaction()`, so
that one message's items, tags and shares are recorded together or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.reading.kinds import kind_of
from bot.reading.links import MAX_URL, Link, canonical_url, isbns_in_text, links_in_message
from bot.reading.topics import Taxonomy, normalise_tag
from bot.services.tagging import auto_tag
from bot.slack import blocks
from bot.text import clip, slack_unescape
from storage import backfills
from storage import channels as channel_store
from storage import items as item_store
from storage import tags as tag_store
from storage.models import Item, Save, Share
from storage.visibility import TYPED_CHANNEL, TYPED_CHANNEL_TYPE, note_key

PRIVATE_CHANNEL_TYPES = frozenset({"group", "im", "mpim"})
CONTEXT_CHARS = 280
_HASHTAG = re.compile(r"(?<![\w&<#/])#([^\W_][\w-]{0,39})", re.UNICODE)
_MARKUP = re.compile(r"<([^>|]+)(?:\|([^>]*))?>")


@dataclass(frozen=True)
class Message:
    """The parts of a Slack message capture needs."""

    team_id: str
    channel_id: str
    channel_type: str  # channel, group (private channel), im, mpim
    user_id: str
    ts: str
    text: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    # The message as it now is, after an edit (or, with no text, its deletion): shares of links it
    # no longer holds go. A new message only adds.
    revised: bool = False

    @property
    def is_private(self) -> bool:
        return self.channel_type in PRIVATE_CHANNEL_TYPES


@dataclass(frozen=True)
class Captured:
    item: Item
    share: Share
    new_item: bool
    new_share: bool


def hashtags(text: str) -> list[str]:
    """`#tags` written in a message (channel links like <#C123|name> are not tags)."""
    plain = _MARKUP.sub(" ", text)
    return list(dict.fromkeys(tag.lower() for tag in _HASHTAG.findall(plain)))


def plain_words(text: str) -> str:
    """Message text as a person reads it: link labels instead of markup, mentions kept as IDs."""

    def readable(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        return label or (target if target.startswith("http") else "")

    return re.sub(r"\s+", " ", slack_unescape(_MARKUP.sub(readable, text))).strip()


def permalink(workspace_url: str | None, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None:
    """Slack's permalink format, built without an API call."""
    if not workspace_url:
        return None
    link = f"{workspace_url.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel_id}"
    return link


def book_key(isbn: str) -> str:
    return f"urn:isbn:{isbn}"


def _link_item(session: Session, team_id: str, link: Link, now: datetime, *, in_the_open: bool) -> tuple[Item, bool]:
    """The item of a link, created if new. The link as written (its tracking parameters, which can
    say who sent it) is kept only when it was written in the open: an item first met in private
    shows its canonical address, so a colleague who later types the link learns nothing of the
    private sharer's."""
    canonical = canonical_url(link.url)
    as_written = in_the_open and len(link.url) <= MAX_URL  # tracking parameters may be all a long one loses
    return item_store.get_or_create_item(
        session=session,
        team_id=team_id,
        canonical_url=canonical,
        url=link.url if as_written else canonical,
        kind=kind_of(link.url),
        now=now,
    )


def _isbn_item(session: Session, team_id: str, isbn: str, now: datetime, title: str | None = None) -> tuple[Item, bool]:
    # Open Library answers every ISBN with a page whose metadata names the book.
    return item_store.get_or_create_item(
        session=session,
        team_id=team_id,
        canonical_url=book_key(isbn),
        url=f"https://openlibrary.org/isbn/{isbn}",
        kind="book",
        isbn=isbn,
        title=title,
        now=now,
    )


def as_it_is_now(session: Session, message: Message) -> Message:
    """The message, private if its event said so or its channel is private now (a message can wait
    in the queue, or in an import's page, while its channel is made private). Read under the
    channel's lock (storage.channels.lock_channel), so a change of the channel's privacy under way
    is waited for, and one that comes later waits for this capture and then finds its shares."""
    if message.is_private:
        return message
    channel = channel_store.lock_channel(session=session, team_id=message.team_id, channel_id=message.channel_id)
    return replace(message, channel_type="group") if channel is not None and channel.is_private else message


def capture_message(
    *,
    session: Session,
    message: Message,
    now: datetime,
    taxonomy: Taxonomy,
    workspace_url: str | Callable[[], str | None] | None = None,
) -> list[Captured]:
    """Record every link and ISBN of `message` as an item (once per workspace) and a share. Without
    the workspace's address the share's permalink is filled in later (`fill_permalinks`).

    `workspace_url` may be a function, asked only when the message has something to capture: most
    messages have no link, and they cost no look-up (nor the channel's lock).
    """
    links = links_in_message(message.text, message.blocks)  # only addresses that can be kept
    isbns = isbns_in_text(message.text)
    if not links and not isbns:
        return []
    message = as_it_is_now(session, message)
    base = workspace_url() if callable(workspace_url) else workspace_url
    found = [_link_item(session, message.team_id, link, now, in_the_open=not message.is_private) for link in links]
    found += [_isbn_item(session, message.team_id, isbn, now) for isbn in isbns]
    context = clip(plain_words(message.text), CONTEXT_CHARS)
    tags = [normalise_tag(taxonomy, tag) for tag in hashtags(message.text)]
    captured = []
    for item, new_item in found:
        if not message.is_private:
            item_store.make_public(session=session, item=item)
        if new_item:
            auto_tag(session, taxonomy, item, now=now)  # from the URL, until the page is read
        tag_store.add_tags(
            session=session,
            item=item,
            tags=tags,
            source="hashtag",
            now=now,
            by=message.user_id,
            private=message.is_private,
        )
        share = Share(
            team_id=message.team_id,
            item_id=item.id,  # type: ignore[arg-type]
            user_id=message.user_id,
            channel_id=message.channel_id,
            channel_type=message.channel_type,
            message_ts=message.ts,
            thread_ts=message.thread_ts,
            permalink=permalink(base, message.channel_id, message.ts, message.thread_ts),
            context=context,
            is_private=message.is_private,
            shared_at=now,
        )
        new_share = item_store.add_share(session=session, share=share)
        captured.append(Captured(item, share, new_item, new_share))
    return captured


def capture_typed_link(
    *, session: Session, team_id: str, user_id: str, url: str, now: datetime, taxonomy: Taxonomy
) -> Item:
    """A link typed into a command (`/shelf recommend @ana URL`) that the typist cannot see yet:
    recorded as their own share, private to them (and to whoever they send it to), in no
    channel, and committed at once, so what the command does next holds even if it then refuses.
    They gain the item itself (the page their link names), never what others did with it in
    private (storage.visibility)."""
    item, new = _link_item(session, team_id, Link(url), now, in_the_open=False)
    if new:
        auto_tag(session, taxonomy, item, now=now)
    share = Share(
        team_id=team_id,
        item_id=item.id,  # type: ignore[arg-type]
        user_id=user_id,
        channel_id=TYPED_CHANNEL,  # in no channel: never a channel's activity, whichever it was typed in
        channel_type=TYPED_CHANNEL_TYPE,
        message_ts=f"command:{now.timestamp():.6f}",
        is_private=True,
        shared_at=now,
    )
    item_store.add_share(session=session, share=share)
    session.commit()
    return item


def revise_message(
    *,
    session: Session,
    message: Message,
    now: datetime,
    taxonomy: Taxonomy,
    workspace_url: str | Callable[[], str | None] | None = None,
) -> list[Captured]:
    """An edited message (its whole new text) or a deleted one (no text at all): links it gained
    are captured, shares of links it lost go with their words and hashtags, and an item nothing
    holds any more disappears (one someone saved stays on their shelf).

    A history import may hold the message, read before this, in a page it has yet to write: the
    revision is recorded under the channel's lock, which the page's write takes too, so the page
    either sees the record and leaves the message out, or is written first and revised here."""
    if not message.is_private:  # only public channels are imported
        channel_store.lock_channel(session=session, team_id=message.team_id, channel_id=message.channel_id)
        backfills.note_revision(
            session=session, team_id=message.team_id, channel_id=message.channel_id, message_ts=message.ts, at=now
        )
    before = item_store.message_shares(
        session=session, team_id=message.team_id, channel_id=message.channel_id, message_ts=message.ts
    )
    captured = capture_message(
        session=session, message=message, now=now, taxonomy=taxonomy, workspace_url=workspace_url
    )
    kept = {c.item.id for c in captured}
    gone = [share for share in before if share.item_id not in kept]
    item_store.delete_shares(session=session, share_ids=[share.id or 0 for share in gone])
    if captured:
        item_store.set_message_context(
            session=session, team_id=message.team_id, channel_id=message.channel_id, message_ts=message.ts,
            context=clip(plain_words(message.text), CONTEXT_CHARS),
        )  # fmt: skip
    touched = {share.item_id for share in before}
    writers = {share.user_id for share in before} | {message.user_id}
    reconcile_hashtags(session=session, taxonomy=taxonomy, item_ids=sorted(touched), writers=sorted(writers))
    item_store.settle_items(session=session, item_ids=[share.item_id for share in gone])
    revise_notes(session=session, message=message)
    return captured


def make_channel_private(*, session: Session, team_id: str, channel_id: str, taxonomy: Taxonomy) -> int:
    """A channel became private: what was shared there is private to those who shared, saved or
    were sent it, unless it was shared in the open elsewhere too. The number of shares changed.
    The channel is recorded private first, under the lock a capture reads its privacy under."""
    channel_store.make_private(session=session, team_id=team_id, channel_id=channel_id)
    changed = item_store.make_channel_shares_private(session=session, team_id=team_id, channel_id=channel_id)
    item_store.make_channel_notes_private(session=session, team_id=team_id, channel_id=channel_id)
    items = sorted({share.item_id for share in changed})
    session.flush()
    reconcile_hashtags(session=session, taxonomy=taxonomy, item_ids=items, writers=sorted({s.user_id for s in changed}))
    item_store.settle_items(session=session, item_ids=items)
    return len(changed)


def reconcile_hashtags(*, session: Session, taxonomy: Taxonomy, item_ids: list[int], writers: list[str]) -> None:
    """After these people's shares of these items changed: each #hashtag they gave stays only while
    a share still carries it, seen by everyone when a public share does, else only by the one who
    wrote it privately."""
    written = tag_store.hashtags_written_by(session=session, item_ids=item_ids, writers=writers)
    if not written:
        return
    carriers: dict[tuple[int, str], list[Share]] = {}
    for share in item_store.shares_of_items(session=session, item_ids=item_ids):
        for tag in hashtags(share.context or ""):
            carriers.setdefault((share.item_id, normalise_tag(taxonomy, tag)), []).append(share)
    changed = set()
    for row in written:
        found = carriers.get((row.item_id, row.tag))
        if not found:
            session.delete(row)
        else:
            best = min(found, key=lambda share: share.is_private)  # a public one, if any
            if (row.is_private, row.created_by) == (best.is_private, best.user_id):
                continue
            row.is_private, row.created_by = best.is_private, best.user_id
            session.add(row)
        changed.add(row.item_id)
    session.flush()
    for item_id in changed:
        item = session.get(Item, item_id)
        if item is not None:
            tag_store.index_item(session=session, item=item)


def fill_permalinks(*, session: Session, share_ids: list[int], workspace_url: str | None) -> None:
    """Give shares recorded without one their message's permalink, now the workspace's address is known."""
    if not workspace_url:
        return
    for share in item_store.shares_without_permalink(session=session, share_ids=share_ids):
        link = permalink(workspace_url, share.channel_id, share.message_ts, share.thread_ts)
        item_store.set_permalink(session=session, share=share, permalink=link)


@dataclass(frozen=True)
class Saved:
    item: Item
    save: Save
    new: bool


def save_link(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    url: str,
    now: datetime,
    tags: list[str],
    note: str | None,
    taxonomy: Taxonomy,
) -> Saved:
    """`/shelf save URL [#tag …] [note]`: the item is private to the saver unless already public."""
    item, new = _link_item(session, team_id, Link(url), now, in_the_open=False)
    if new:
        auto_tag(session, taxonomy, item, now=now)
    return _save(
        session, team_id, user_id, item, now, [normalise_tag(taxonomy, t) for t in tags], note, source="command"
    )


def save_book(*, session: Session, team_id: str, user_id: str, title: str, author: str | None, now: datetime) -> Saved:
    """`/shelf save book "Title" by Author`: a book item with no link, keyed on title and author."""
    isbns = isbns_in_text(f"ISBN {title}")
    if isbns:
        item, _ = _isbn_item(session, team_id, isbns[0], now)
    else:
        key = "urn:peershelf:book:" + re.sub(r"\W+", "-", f"{title} {author or ''}".lower()).strip("-")
        item, _ = item_store.get_or_create_item(
            session=session,
            team_id=team_id,
            canonical_url=key[:2048],
            url=key[:2048],
            kind="book",
            title=clip(title, 1024),
            author=clip(author, 512) if author else None,
            fetch_state="none",
            now=now,
        )
    return _save(session, team_id, user_id, item, now, [], None, source="command")


def save_links(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    links: list[Link],
    now: datetime,
    source: str,
    taxonomy: Taxonomy,
) -> list[Saved]:
    """Save links without recording a share (a bot's message, say): private to the saver."""
    items = []
    for link in links:
        item, new = _link_item(session, team_id, link, now, in_the_open=False)
        if new:
            auto_tag(session, taxonomy, item, now=now)
        items.append(item)
    return save_items(session=session, team_id=team_id, user_id=user_id, items=items, now=now, source=source)


def save_items(
    *, session: Session, team_id: str, user_id: str, items: list[Item], now: datetime, source: str
) -> list[Saved]:
    return [_save(session, team_id, user_id, item, now, [], None, source=source) for item in items]


def save_note(
    *, session: Session, team_id: str, user_id: str, message: Message, link: str | None, now: datetime
) -> Saved:
    """A reacted message with no link is saved as a note: the message's words, pointing at the
    message itself. It is keyed by the message, not its permalink, so that nobody reaches it by
    typing or posting that link; it is public only when the message is (storage.visibility)."""
    item, new = item_store.get_or_create_item(
        session=session,
        team_id=team_id,
        canonical_url=note_key(message.channel_id, message.ts),
        url=link or note_key(message.channel_id, message.ts),
        kind="other",
        title=note_title(message.text),
        fetch_state="none",
        now=now,
    )
    if new:
        item.quoted_user_id = message.user_id or None
        session.add(item)
    if not message.is_private:
        item_store.publish_note(session=session, note=item)
    return _save(session, team_id, user_id, item, now, [], None, source="reaction")


def note_title(text: str) -> str:
    return clip(plain_words(text) or "A Slack message", 200)


DELETED_NOTE = "A deleted Slack message"


def revise_notes(*, session: Session, message: Message) -> None:
    """A saved message was edited or deleted: its note says what the message now says, or
    nothing of its words once it is gone."""
    note = item_store.item_by_url(
        session=session, team_id=message.team_id, canonical_url=note_key(message.channel_id, message.ts)
    )
    if note is None:
        return
    title = note_title(message.text) if message.text.strip() else DELETED_NOTE
    if note.title != title:
        item_store.update_metadata(session=session, item=note, values={"title": title})


def _save(
    session: Session,
    team_id: str,
    user_id: str,
    item: Item,
    now: datetime,
    tags: list[str],
    note: str | None,
    *,
    source: str,
) -> Saved:
    save, new = item_store.save_item(
        session=session, team_id=team_id, user_id=user_id, item=item, source=source, now=now, note=note
    )
    # Tags given to an item seen in private are the saver's alone (storage.visibility).
    tag_store.add_tags(
        session=session, item=item, tags=tags, source="person", now=now, by=user_id, private=not item.is_public
    )
    return Saved(item, save, new)


def duplicate_notices(*, session: Session, share_ids: list[int]) -> list[tuple[Share, str]]:
    """For shares of links already shared publicly by someone else: the notice for the sharer."""
    notices = []
    for share, item in item_store.shares_with_items(session=session, share_ids=share_ids):
        earlier = item_store.earlier_public_share(session=session, share=share)
        if earlier is None or earlier.user_id == share.user_id:
            continue
        saves = item_store.save_counts(session=session, item_ids=[share.item_id]).get(share.item_id, 0)
        where = (
            f"<{earlier.permalink}|in <#{earlier.channel_id}>>" if earlier.permalink else f"in <#{earlier.channel_id}>"
        )
        count = f"{saves} save{'s' if saves != 1 else ''}"
        by = f" by <@{earlier.user_id}>" if earlier.user_id else ""  # nobody named: they asked to be forgotten
        notices.append((share, f"Heads-up: {blocks.item_link(item)} was already shared{by} {where} — {count}."))
    return notices


def add_channel_topics(*, session: Session, share_ids: list[int], topics: list[str], now: datetime) -> None:
    """Tag the items of these shares with their channel's topics (unless a person removed them)."""
    for share, item in item_store.shares_with_items(session=session, share_ids=share_ids):
        # A private channel's topics say what it is about: they stay with its shares, seen by nobody
        # else, until someone gives the same topic in the open.
        tag_store.add_tags(session=session, item=item, tags=topics, source="channel", now=now, private=share.is_private)
