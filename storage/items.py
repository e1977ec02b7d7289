"""Items, shares, saves and tags: the queries capture, the shelf and the fetch queue need."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import search
from storage.claims import claim_due
from storage.db import one_of
from storage.models import FeedEntry, Item, ItemTag, ListItem, Recommendation, Save, Share

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
    fetch_state: str = "pending",
    isbn: str | None = None,
    author: str | None = None,
) -> tuple[Item, bool]:
    """The workspace's item for `canonical_url`, created if new; safe against a concurrent insert."""
    existing = item_by_url(session=session, team_id=team_id, canonical_url=canonical_url)
    if existing is not None:
        return existing, False
    item = Item(
        team_id=team_id,
        canonical_url=canonical_url,
        url=url,
        kind=kind,
        title=title,
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
    statement = select(Item).where(Item.team_id == team_id, Item.canonical_url == canonical_url)
    return session.exec(statement).first()


def item_by_id(*, session: Session, team_id: str, item_id: int) -> Item | None:
    item = session.get(Item, item_id)
    return item if item is not None and item.team_id == team_id else None


def index_item(*, session: Session, item: Item) -> None:
    """Refresh the item's search document from its fields, current tags and URL (all there is before a fetch)."""
    assert item.id is not None
    tags = [t.tag for t in active_tags(session=session, item_ids=[item.id]).get(item.id, [])]
    search.index_item(
        session,
        team_id=item.team_id,
        item_id=item.id,
        parts=[item.title, item.description, " ".join(tags), item.site_name, item.author, url_words(item.url)],
    )


def url_words(url: str) -> str:
    """A URL as plain words; PostgreSQL's parser would otherwise keep it as one unsplit token."""
    return re.sub(r"[\W_]+", " ", url.split("://", 1)[-1])


# -- visibility -------------------------------------------------------------------------------------


def visible_to(team_id: str, user_id: str) -> ColumnElement[bool]:
    """Items a person may see: public ones, and private ones they shared, saved, recommended or got."""
    return and_(
        col(Item.team_id) == team_id,
        or_(
            col(Item.is_public),
            exists().where(col(Share.item_id) == col(Item.id), col(Share.user_id) == user_id),
            exists().where(col(Save.item_id) == col(Item.id), col(Save.user_id) == user_id),
            exists().where(
                col(Recommendation.item_id) == col(Item.id),
                or_(col(Recommendation.from_user_id) == user_id, col(Recommendation.to_user_id) == user_id),
            ),
        ),
    )


def visible_item(*, session: Session, team_id: str, user_id: str, item_id: int) -> Item | None:
    statement = select(Item).where(col(Item.id) == item_id, visible_to(team_id, user_id))
    return session.exec(statement).first()


def visible_item_by_url(*, session: Session, team_id: str, user_id: str, canonical_url: str) -> Item | None:
    statement = select(Item).where(col(Item.canonical_url) == canonical_url, visible_to(team_id, user_id))
    return session.exec(statement).first()


# -- shares -----------------------------------------------------------------------------------------


def add_share(*, session: Session, share: Share) -> bool:
    """Record a share; False when this message already recorded this item (a redelivery or an edit)."""
    try:
        with session.begin_nested():
            session.add(share)
    except IntegrityError:
        return False
    return True


def shares_of_message(*, session: Session, team_id: str, channel_id: str, message_ts: str) -> list[Share]:
    statement = (
        select(Share)
        .where(Share.team_id == team_id, Share.channel_id == channel_id, Share.message_ts == message_ts)
        .order_by(col(Share.id))
    )
    return list(session.exec(statement))


def earlier_public_share(*, session: Session, share: Share) -> Share | None:
    """The first public share of the same item in another, earlier message, if any."""
    assert share.id is not None
    statement = (
        select(Share)
        .where(
            Share.team_id == share.team_id,
            Share.item_id == share.item_id,
            col(Share.is_private).is_(False),
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
        statement = statement.where(has_tag(tag))
    return [(save, item) for save, item in session.exec(statement)]


def save_counts(*, session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    statement = (
        select(Save.item_id, func.count()).where(col(Save.item_id).in_(list(item_ids))).group_by(col(Save.item_id))
    )
    return {int(item_id): int(count) for item_id, count in session.exec(statement)}


# -- tags -------------------------------------------------------------------------------------------


def has_tag(tag: str) -> ColumnElement[bool]:
    """A filter for queries over Item: the item carries `tag` (not removed by a person)."""
    return exists().where(
        col(ItemTag.item_id) == col(Item.id), col(ItemTag.tag) == tag, col(ItemTag.removed).is_(False)
    )


def _active_tags_of(session: Session, item_ids: Sequence[int]) -> ColumnElement[bool]:
    """The tags on `item_ids` that nobody took off."""
    return and_(one_of(session, col(ItemTag.item_id), list(item_ids)), col(ItemTag.removed).is_(False))


def active_tags(*, session: Session, item_ids: Sequence[int]) -> dict[int, list[ItemTag]]:
    if not item_ids:
        return {}
    statement = select(ItemTag).where(_active_tags_of(session, item_ids)).order_by(col(ItemTag.id))
    found: dict[int, list[ItemTag]] = {}
    for tag in session.exec(statement):
        found.setdefault(tag.item_id, []).append(tag)
    return found


def tag_names(*, session: Session, item_ids: Sequence[int]) -> dict[int, list[str]]:
    """The active tags of each item, as names in the order they were given: for rendering many items."""
    found: dict[int, list[str]] = {}
    if item_ids:
        statement = (
            select(ItemTag.item_id, ItemTag.tag).where(_active_tags_of(session, item_ids)).order_by(col(ItemTag.id))
        )
        for item_id, tag in session.execute(statement):
            found.setdefault(int(item_id), []).append(str(tag))
    return found


def add_tag(
    *,
    session: Session,
    item: Item,
    tag: str,
    source: str,
    now: datetime,
    by: str | None = None,
    evidence: str | None = None,
) -> ItemTag | None:
    """Add a tag unless the item has it (or a person removed it: people's corrections win)."""
    assert item.id is not None
    existing = session.exec(select(ItemTag).where(ItemTag.item_id == item.id, ItemTag.tag == tag)).first()
    if existing is not None:
        if source == "person" and (existing.removed or existing.source != "person"):
            # A person's word outlasts automatic tagging: it is no longer the tagger's to drop.
            existing.removed, existing.source, existing.created_by = False, "person", by
            session.add(existing)
            return existing
        return None
    created = ItemTag(
        team_id=item.team_id, item_id=item.id, tag=tag, source=source, created_by=by, created_at=now, evidence=evidence
    )
    try:
        with session.begin_nested():
            session.add(created)
    except IntegrityError:
        return None
    return created


def remove_tag(*, session: Session, item: Item, tag: str, by: str, now: datetime) -> bool:
    """A person's untag: kept as `removed`, so no automatic tagging puts it back. False if absent."""
    existing = session.exec(select(ItemTag).where(ItemTag.item_id == item.id, ItemTag.tag == tag)).first()
    if existing is None or existing.removed:
        return False
    existing.removed, existing.source, existing.created_by, existing.created_at = True, "person", by, now
    session.add(existing)
    return True


def replace_auto_tags(*, session: Session, item: Item, topics: list[tuple[str, str]], now: datetime) -> None:
    """Set the tagger's topics (slug, evidence): earlier automatic tags it no longer gives are dropped;
    tags people, hashtags or channels gave, and tags people removed, are left as they are."""
    assert item.id is not None
    wanted = dict(topics)
    for row in session.exec(select(ItemTag).where(ItemTag.item_id == item.id, ItemTag.source == "auto")):
        if row.tag not in wanted and not row.removed:
            session.delete(row)
        elif row.tag in wanted:
            row.evidence = wanted[row.tag][:512]
            session.add(row)
    session.flush()
    for slug, evidence in topics:
        add_tag(session=session, item=item, tag=slug, source="auto", now=now, evidence=evidence[:512])


# -- the metadata queue -----------------------------------------------------------------------------


def claim_items_for_fetch(*, session: Session, now: datetime, lease: timedelta, limit: int) -> list[Item]:
    """Take up to `limit` items due for fetching, leased for `lease`, so no other worker takes them."""
    due = and_(
        col(Item.fetch_state) == "pending",
        or_(col(Item.next_fetch_at).is_(None), col(Item.next_fetch_at) <= now),
    )
    return claim_due(
        session, Item, due=due, order_by=[col(Item.next_fetch_at), col(Item.id)], now=now, lease=lease, limit=limit
    )


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
    keep.is_public = keep.is_public or drop.is_public
    search.forget_item(session, item_id=drop.id)
    session.execute(delete(Item).where(col(Item.id) == drop.id))
    session.add(keep)
    session.flush()
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
