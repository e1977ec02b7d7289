"""Items, shares, saves and tags: the queries capture, the shelf and the fetch queue need."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import search
from storage.claims import claim_due
from storage.models import URL, FeedEntry, Item, ItemAddress, ItemTag, ListItem, Recommendation, Save, Share
from storage.tags import has_tag, index_item
from storage.visibility import (
    done_in_the_open,
    in_the_open,
    may_go_public,
    notes_of_channel,
    share_in_the_open,
    visible_to,
)

logger = logging.getLogger(__name__)

# -- items ------------------------------------------------------------------------------------------


def get_or_create_item(
    *,
    session: Session,
    team_id: str,
    canonical_url: str,
    url: str,
    kind: str,
    now: datetime,
    title: str | None = None,
    description: str | None = None,
    fetch_state: str = "pending",
    isbn: str | None = None,
    author: str | None = None,
) -> tuple[Item, bool]:
    """The workspace's item that answers to `canonical_url` (see `item_by_url`), created if new;
    safe against a concurrent insert."""
    existing = item_by_url(session=session, team_id=team_id, canonical_url=canonical_url)
    if existing is not None:
        return existing, False
    item = Item(
        team_id=team_id,
        canonical_url=canonical_url,
        url=url,
        kind=kind,
        title=title,
        description=description,
        isbn=isbn,
        author=author,
        fetch_state=fetch_state,
        next_fetch_at=now if fetch_state == "pending" else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        # Another process created it between our look-up and insert.
        found = item_by_url(session=session, team_id=team_id, canonical_url=canonical_url)
        assert found is not None
        return found, False
    index_item(session=session, item=item)
    return item, True


def item_by_url(*, session: Session, team_id: str, canonical_url: str) -> Item | None:
    """The workspace's item that answers to `canonical_url`: as its canonical URL, else as one of
    its other addresses (the link it was shared as before its page named another, or where that
    link redirected to). Visibility is the caller's to apply."""
    statement = select(Item).where(Item.team_id == team_id, Item.canonical_url == canonical_url)
    found = session.exec(statement).first()
    if found is None and is_web_address(canonical_url):
        aliased = (
            select(Item)
            .join(ItemAddress, col(ItemAddress.item_id) == col(Item.id))
            .where(ItemAddress.team_id == team_id, ItemAddress.address == canonical_url)
        )
        found = session.exec(aliased).first()
    return found


def is_web_address(address: str) -> bool:
    """An address an item may answer to besides its canonical URL: a web link that fits the column.
    Books (`urn:isbn:`) and notes (`urn:peershelf:`) are known by their key alone."""
    return address.startswith(("http://", "https://")) and len(address) <= URL


def add_address(*, session: Session, item: Item, address: str) -> bool:
    """Let `item` answer to `address` too; False when it already does, when `address` is not a web
    link (or `item` not a web page), or when another item answers to it (the first keeps it).
    Safe against another process recording the same address at the same time."""
    assert item.id is not None
    if address == item.canonical_url or not (is_web_address(address) and is_web_address(item.canonical_url)):
        return False
    if item_by_url(session=session, team_id=item.team_id, canonical_url=address) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ItemAddress(team_id=item.team_id, item_id=item.id, address=address))
    except IntegrityError:
        return False  # recorded meanwhile, by another process
    return True


def addresses_of(*, session: Session, item_id: int) -> list[str]:
    """The addresses an item answers to besides its canonical URL, in the order they were recorded."""
    statement = select(ItemAddress.address).where(ItemAddress.item_id == item_id).order_by(col(ItemAddress.id))
    return list(session.exec(statement))


def make_public(*, session: Session, item: Item) -> None:
    """The item was shared in a public channel, listed or fed: from now on everyone in the
    workspace may see it. A note stays as private as its message (`visibility.may_go_public`)."""
    if not item.is_public and may_go_public(item):
        item.is_public = True
        session.add(item)


def publish_note(*, session: Session, note: Item) -> None:
    """A note saved from a message in a public channel: everyone who could read the message may
    see it (and only this makes a note public)."""
    if not note.is_public:
        note.is_public = True
        session.add(note)


# -- visibility (the rule itself is storage.visibility's) -------------------------------------------


def visible_item(*, session: Session, team_id: str, user_id: str, item_id: int) -> Item | None:
    statement = select(Item).where(col(Item.id) == item_id, visible_to(team_id, user_id))
    return session.exec(statement).first()


def visible_item_by_url(*, session: Session, team_id: str, user_id: str, canonical_url: str) -> Item | None:
    """The item that answers to `canonical_url` (see `item_by_url`), if the person may see it."""
    item = item_by_url(session=session, team_id=team_id, canonical_url=canonical_url)
    if item is None or item.id is None:
        return None
    return visible_item(session=session, team_id=team_id, user_id=user_id, item_id=item.id)


def search_visible(*, session: Session, team_id: str, user_id: str, words: str, tag: str | None) -> list[Item]:
    """Items the asker may see that match `words` (all of them) and carry `tag`, best first; with
    no words, the newest fifty with the tag."""
    statement = select(Item).where(visible_to(team_id, user_id))
    if tag:
        statement = statement.where(has_tag(tag, viewer=user_id))
    if not words:
        return list(session.exec(statement.order_by(col(Item.created_at).desc()).limit(50)))
    ids = search.matching_item_ids(session, team_id=team_id, user_id=user_id, words=words)
    if not ids:
        return []
    by_id = {item.id: item for item in session.exec(statement.where(col(Item.id).in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


# -- shares -----------------------------------------------------------------------------------------


def add_share(*, session: Session, share: Share) -> bool:
    """Record a share; False when this message already recorded this item (a redelivery or an edit)."""
    try:
        with session.begin_nested():
            session.add(share)
    except IntegrityError:
        return False
    return True


def shares_with_items(*, session: Session, share_ids: Sequence[int]) -> list[tuple[Share, Item]]:
    """The shares (those that still exist) with their items, in the order of `share_ids`."""
    if not share_ids:
        return []
    statement = select(Share, Item).join(Item, col(Item.id) == col(Share.item_id)).where(col(Share.id).in_(share_ids))
    found = {share.id: (share, item) for share, item in session.exec(statement)}
    return [found[share_id] for share_id in share_ids if share_id in found]


def shares_without_permalink(*, session: Session, share_ids: Sequence[int]) -> list[Share]:
    if not share_ids:
        return []
    statement = select(Share).where(col(Share.id).in_(share_ids), col(Share.permalink).is_(None))
    return list(session.exec(statement.order_by(col(Share.id))))


def set_permalink(*, session: Session, share: Share, permalink: str | None) -> None:
    share.permalink = permalink
    session.add(share)


def items_of_message(*, session: Session, team_id: str, channel_id: str, message_ts: str) -> list[Item]:
    """The items a captured message shared, in the order they were captured (none: never seen)."""
    statement = (
        select(Item)
        .join(Share, col(Share.item_id) == col(Item.id))
        .where(Share.team_id == team_id, Share.channel_id == channel_id, Share.message_ts == message_ts)
        .order_by(col(Share.id))
    )
    return list(session.exec(statement))


def message_shares(*, session: Session, team_id: str, channel_id: str, message_ts: str) -> list[Share]:
    """The shares one message recorded."""
    statement = select(Share).where(
        Share.team_id == team_id, Share.channel_id == channel_id, Share.message_ts == message_ts
    )
    return list(session.exec(statement.order_by(col(Share.id))))


def shares_of_items(*, session: Session, item_ids: Sequence[int]) -> list[Share]:
    if not item_ids:
        return []
    return list(session.exec(select(Share).where(col(Share.item_id).in_(item_ids)).order_by(col(Share.id))))


def delete_shares(*, session: Session, share_ids: Sequence[int]) -> None:
    if share_ids:
        session.execute(delete(Share).where(col(Share.id).in_(share_ids)))


def set_message_context(*, session: Session, team_id: str, channel_id: str, message_ts: str, context: str) -> None:
    """An edited message's new words, on every share it recorded."""
    session.execute(
        update(Share)
        .where(col(Share.team_id) == team_id, col(Share.channel_id) == channel_id, col(Share.message_ts) == message_ts)
        .values(context=context)
    )


def make_channel_shares_private(*, session: Session, team_id: str, channel_id: str) -> list[Share]:
    """A channel became private: what was shared there is private from now on. The shares changed."""
    statement = select(Share).where(
        Share.team_id == team_id, Share.channel_id == channel_id, col(Share.is_private).is_(False)
    )
    changed = list(session.exec(statement))
    if changed:
        session.execute(
            update(Share)
            .where(col(Share.id).in_([s.id for s in changed]))
            .values(is_private=True, channel_type="group")
        )
    return changed


def make_channel_notes_private(*, session: Session, team_id: str, channel_id: str) -> list[int]:
    """A channel became private: the notes saved from its messages are seen only by their savers
    from now on, and leave the lists they were on (lists are public). The notes changed."""
    statement = select(Item.id).where(Item.team_id == team_id, notes_of_channel(channel_id), in_the_open())
    changed = [int(item_id) for item_id in session.exec(statement) if item_id is not None]
    if changed:
        session.execute(update(Item).where(col(Item.id).in_(changed)).values(is_public=False))
        session.execute(delete(ListItem).where(col(ListItem.item_id).in_(changed)))
    return changed


def unquote_person(*, session: Session, team_id: str, user_id: str) -> list[int]:
    """A person asked to be forgotten: notes that quote their messages keep none of their words.
    The notes changed (their search documents follow)."""
    notes = list(session.exec(select(Item).where(Item.team_id == team_id, Item.quoted_user_id == user_id)))
    for note in notes:
        note.title, note.quoted_user_id = FORGOTTEN_NOTE, None
        session.add(note)
        index_item(session=session, item=note)
    return [note.id for note in notes if note.id is not None]


FORGOTTEN_NOTE = "A Slack message"


def settle_items(*, session: Session, item_ids: Sequence[int]) -> list[int]:
    """Items that lost shares: public only while a public share or a list still shows them, and
    deleted when nothing holds them any more (no share, save, recommendation or list). The IDs deleted."""
    deleted = []
    for item_id in sorted(set(item_ids)):
        item = session.get(Item, item_id)
        if item is None:
            continue
        held = [
            exists().where(col(model.item_id) == item_id)  # type: ignore[attr-defined]
            for model in (Share, Save, Recommendation, ListItem)
        ]
        if not session.exec(select(or_(*held))).one():
            search.forget_item(session, item_id=item_id)
            session.execute(delete(Item).where(col(Item.id) == item_id))
            deleted.append(item_id)
            continue
        if not may_go_public(item):
            continue  # a note's audience is its message's, whatever holds it
        public = session.exec(
            select(
                or_(
                    exists().where(col(Share.item_id) == item_id, share_in_the_open()),
                    exists().where(col(ListItem.item_id) == item_id),
                )
            )
        ).one()
        if item.is_public != public:
            item.is_public = public
            session.add(item)
    return deleted


def earlier_public_share(*, session: Session, share: Share) -> Share | None:
    """The first public share of the same item in another, earlier message, if any."""
    assert share.id is not None
    statement = (
        select(Share)
        .where(
            Share.team_id == share.team_id,
            Share.item_id == share.item_id,
            share_in_the_open(),
            col(Share.id) < share.id,  # recorded before this one, however late this is looked at
            or_(col(Share.channel_id) != share.channel_id, col(Share.message_ts) != share.message_ts),
        )
        .order_by(col(Share.shared_at), col(Share.id))
    )
    return session.exec(statement).first()


# -- saves ------------------------------------------------------------------------------------------


def get_save(*, session: Session, team_id: str, user_id: str, item_id: int) -> Save | None:
    statement = select(Save).where(Save.team_id == team_id, Save.user_id == user_id, Save.item_id == item_id)
    return session.exec(statement).first()


def save_item(
    *, session: Session, team_id: str, user_id: str, item: Item, source: str, now: datetime, note: str | None = None
) -> tuple[Save, bool]:
    """Put `item` on a shelf; returns (save, created). A note given again replaces the old one."""
    assert item.id is not None
    existing = get_save(session=session, team_id=team_id, user_id=user_id, item_id=item.id)
    if existing is not None:
        if note:
            existing.note = note
            session.add(existing)
            search.index_note(session, team_id=team_id, item_id=item.id, user_id=user_id, note=note)
        return existing, False
    save = Save(team_id=team_id, user_id=user_id, item_id=item.id, source=source, note=note, saved_at=now)
    try:
        with session.begin_nested():
            session.add(save)
    except IntegrityError:
        again = get_save(session=session, team_id=team_id, user_id=user_id, item_id=item.id)
        assert again is not None
        return again, False
    if note:
        search.index_note(session, team_id=team_id, item_id=item.id, user_id=user_id, note=note)
    return save, True


def shelf(*, session: Session, team_id: str, user_id: str, tag: str | None = None) -> list[tuple[Save, Item]]:
    """A person's saves: unread first, then done; newest first within each."""
    statement = (
        select(Save, Item)
        .join(Item, col(Item.id) == col(Save.item_id))
        .where(Save.team_id == team_id, Save.user_id == user_id)
        .order_by(col(Save.status) == "done", col(Save.saved_at).desc(), col(Save.id).desc())
    )
    if tag:
        statement = statement.where(has_tag(tag, viewer=user_id))
    return [(save, item) for save, item in session.exec(statement)]


def save_counts(*, session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    """How many saved each item in the open (a save made while it was private counts for nobody)."""
    statement = (
        select(Save.item_id, func.count())
        .where(col(Save.item_id).in_(list(item_ids)), done_in_the_open(Save.item_id, Save.saved_at))
        .group_by(col(Save.item_id))
    )
    return {int(item_id): int(count) for item_id, count in session.exec(statement)}


# -- the metadata queue -----------------------------------------------------------------------------


def claim_items_for_fetch(
    *, session: Session, now: datetime, lease: timedelta, limit: int, holder: str | None = None
) -> list[Item]:
    """Take up to `limit` items due for fetching, leased to `holder` for `lease`, so no other worker
    takes them. Newest first: what was shared a moment ago, then a history import from its latest
    message back (an item is created at the moment of its first share), as people will look."""
    due = and_(
        col(Item.fetch_state) == "pending",
        or_(col(Item.next_fetch_at).is_(None), col(Item.next_fetch_at) <= now),
    )
    order = [col(Item.created_at).desc(), col(Item.id).desc()]
    return claim_due(session, Item, due=due, order_by=order, now=now, lease=lease, limit=limit, holder=holder)


def put_off_fetches(*, session: Session, due: dict[int, datetime], holder: str) -> None:
    """Give `holder`'s claimed items back to the queue, each due again at its time in `due`
    (a site's turn), with no attempt counted."""
    for item_id, when in due.items():
        session.execute(
            update(Item)
            .where(col(Item.id) == item_id, col(Item.claimed_by) == holder)
            .values(next_fetch_at=when, claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def record_fetch(
    *,
    session: Session,
    item_id: int,
    state: str,
    error: str | None,
    attempts: int,
    next_fetch_at: datetime | None,
    fetched: bool,
    now: datetime,
) -> Item | None:
    """How a fetch of the item's page ended, releasing its claim; None when the item is gone."""
    item = session.get(Item, item_id)
    if item is None:
        return None
    item.fetch_state, item.fetch_error, item.fetch_attempts = state, error, attempts
    item.next_fetch_at, item.claimed_until, item.updated_at = next_fetch_at, None, now
    if fetched:
        item.fetched_at = now
    session.add(item)
    return item


def update_metadata(*, session: Session, item: Item, values: dict[str, Any]) -> None:
    """Record what the item's page says about it (columns by name); the search document follows."""
    for column, value in values.items():
        setattr(item, column, value)
    session.add(item)
    index_item(session=session, item=item)


def move_to_url(*, session: Session, item: Item, canonical_url: str) -> Item:
    """Give the item the canonical URL its page prefers, merging it into the item that already
    answers to it (both are the same page, found once the page was read); returns the item that
    remains, which still answers to the address the item had before. An address longer than the
    column keeps (a redirect may lead anywhere) is not moved to."""
    if canonical_url == item.canonical_url or len(canonical_url) > URL:
        return item
    before = item.canonical_url
    existing = item_by_url(session=session, team_id=item.team_id, canonical_url=canonical_url)
    if existing is not None and existing.id != item.id:
        logger.info("item %s is item %s (%s); merging", item.id, existing.id, canonical_url)
        merge_items(session=session, keep=existing, drop=item)
        return existing
    if existing is not None:  # one of its other addresses becomes its canonical URL
        session.execute(
            delete(ItemAddress).where(col(ItemAddress.item_id) == item.id, col(ItemAddress.address) == canonical_url)
        )
    item.canonical_url = canonical_url
    session.add(item)
    session.flush()
    add_address(session=session, item=item, address=before)
    return item


def merge_items(*, session: Session, keep: Item, drop: Item) -> None:
    """Fold `drop` into `keep` (both one page, found once its canonical URL was known).

    Rows that would collide with one already on `keep` (the same person's save, the same
    message's share…) are dropped; the rest move over.
    """
    assert keep.id is not None and drop.id is not None
    # Each child table with the columns that, with item_id, must stay unique.
    moves: list[tuple[type, tuple[str, ...]]] = [
        (Share, ("team_id", "channel_id", "message_ts")),
        (Save, ("team_id", "user_id")),
        (Recommendation, ("team_id", "from_user_id", "to_user_id")),
        (ItemTag, ("tag",)),
        (ListItem, ("list_id",)),
        (FeedEntry, ()),
    ]
    for model, key in moves:
        table = model.__table__  # type: ignore[attr-defined]
        key_columns = [table.c[k] for k in key]
        kept = (
            {tuple(row) for row in session.execute(select(*key_columns).where(table.c.item_id == keep.id))}
            if key
            else set()
        )
        for row in session.execute(select(table.c.id, *key_columns).where(table.c.item_id == drop.id)).all():
            if key and tuple(row[1:]) in kept:
                session.execute(delete(table).where(table.c.id == row[0]))
            else:
                session.execute(update(table).where(table.c.id == row[0]).values(item_id=keep.id))
    # Every address `drop` answered to is `keep`'s now, its canonical URL included.
    dropped_url = drop.canonical_url
    session.execute(
        delete(ItemAddress).where(col(ItemAddress.item_id) == drop.id, col(ItemAddress.address) == keep.canonical_url)
    )
    session.execute(update(ItemAddress).where(col(ItemAddress.item_id) == drop.id).values(item_id=keep.id))
    keep.is_public = keep.is_public or drop.is_public
    search.forget_item(session, item_id=drop.id)
    session.execute(delete(Item).where(col(Item.id) == drop.id))
    session.add(keep)
    session.flush()
    add_address(session=session, item=keep, address=dropped_url)
    for save in session.exec(select(Save).where(Save.item_id == keep.id, col(Save.note).is_not(None))):
        search.index_note(session, team_id=keep.team_id, item_id=keep.id, user_id=save.user_id, note=save.note)


def mark_done(*, session: Session, team_id: str, user_id: str, item: Item, source: str, now: datetime) -> bool:
    """Mark an item read/watched on a person's shelf (putting it there if needed); False if it already was."""
    save, _ = save_item(session=session, team_id=team_id, user_id=user_id, item=item, source=source, now=now)
    if save.status == "done":
        return False
    save.status, save.done_at = "done", save.done_at or now
    session.add(save)
    session.commit()
    return True
