"""Tags on items: the tagger's topics, #hashtags, channels' topics and people's corrections, and
the search document each item's tags and fields make."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, event, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import search
from storage.db import chunked, one_of, read_for_update
from storage.models import Item, ItemTag
from storage.visibility import in_the_open
from storage.visibility import tag_seen_by as seen_by

# The order tags are shown in: what people gave first, the tagger's guesses last.
_SOURCE_ORDER = case(
    (col(ItemTag.source) == "person", 0),
    (col(ItemTag.source) == "hashtag", 1),
    (col(ItemTag.source) == "channel", 2),
    else_=3,
)


def has_tag(tag: str, *, viewer: str | None) -> ColumnElement[bool]:
    """A filter for queries over Item: the item carries `tag` (not removed by a person), as `viewer` sees it."""
    return exists().where(
        col(ItemTag.item_id) == col(Item.id), col(ItemTag.tag) == tag, col(ItemTag.removed).is_(False), seen_by(viewer)
    )


def tag_names(*, session: Session, item_ids: Sequence[int], viewer: str | None) -> dict[int, list[str]]:
    """Each item's live tags (none a person removed) that `viewer` may see, those people gave
    first: for showing items."""
    found: dict[int, list[str]] = {}
    ids = list(dict.fromkeys(item_ids))
    for chunk in chunked(ids):
        statement = (
            select(ItemTag.item_id, ItemTag.tag)
            .where(one_of(session, col(ItemTag.item_id), chunk), col(ItemTag.removed).is_(False), seen_by(viewer))
            .order_by(_SOURCE_ORDER, col(ItemTag.id))
        )
        for item_id, tag in session.execute(statement):
            found.setdefault(int(item_id), []).append(str(tag))
    return found


def _add_tag(
    session: Session,
    item: Item,
    tag: str,
    *,
    source: str,
    now: datetime,
    by: str | None,
    evidence: str | None = None,
    private: bool = False,
) -> bool:
    """Add one tag unless the item has it (or a person removed it: people's corrections win)."""
    assert item.id is not None
    existing = session.exec(select(ItemTag).where(ItemTag.item_id == item.id, ItemTag.tag == tag)).first()
    if existing is not None:
        if source == "person" and (existing.removed or existing.source != "person"):
            # A person's word outlasts automatic tagging: it is no longer the tagger's to drop.
            # Given where only some may see (a link the asker alone may see), it is theirs alone; a tag
            # already given in the open stays in the open.
            existing.is_private = private if existing.removed else existing.is_private and private
            existing.removed, existing.source, existing.created_by, existing.created_at = False, "person", by, now
            session.add(existing)
            return True
        if existing.is_private and not private and not existing.removed:
            # Given in the open now: everyone who sees the item sees it, as this source gave it.
            existing.is_private, existing.source, existing.created_by = False, source, by
            existing.created_at, existing.evidence = now, evidence
            session.add(existing)
            return True
        return False
    created = ItemTag(
        team_id=item.team_id,
        item_id=item.id,
        tag=tag,
        source=source,
        created_by=by,
        created_at=now,
        evidence=evidence,
        is_private=private,
    )
    try:
        with session.begin_nested():
            session.add(created)
    except IntegrityError:
        return False
    return True


def add_tags(
    *,
    session: Session,
    item: Item,
    tags: Sequence[str],
    source: str,
    now: datetime,
    by: str | None = None,
    private: bool = False,
) -> list[str]:
    """Tag an item (source: person, hashtag or channel) and refresh its search document; returns
    the tags it did not have. A tag a person removed stays removed unless a person adds it again.
    `private` tags were written where only some people could read them (see `seen_by`)."""
    added = [
        tag
        for tag in dict.fromkeys(tags)
        if _add_tag(session, item, tag, source=source, now=now, by=by, private=private)
    ]
    if tags:
        index_item(session=session, item=item)
    return added


def hashtags_written_by(*, session: Session, item_ids: Sequence[int], writers: Sequence[str]) -> list[ItemTag]:
    """The #hashtag tags these people gave these items (for an edit, a deletion or a channel gone private)."""
    if not item_ids or not writers:
        return []
    statement = select(ItemTag).where(
        col(ItemTag.item_id).in_(item_ids),
        col(ItemTag.source) == "hashtag",
        col(ItemTag.created_by).in_(writers),
        col(ItemTag.removed).is_(False),
    )
    return list(session.exec(statement))


def remove_tags(*, session: Session, item: Item, tags: Sequence[str], by: str, now: datetime) -> list[str]:
    """A person's untag, kept as `removed` so that no automatic tagging puts it back; returns the
    tags that were there. The search document follows."""
    removed = []
    for tag in dict.fromkeys(tags):
        statement = select(ItemTag).where(ItemTag.item_id == item.id, ItemTag.tag == tag, seen_by(by))
        existing = session.exec(statement).first()
        if existing is None or existing.removed:
            continue  # someone else's private tag is not this person's to see, nor to remove
        existing.removed, existing.source, existing.created_by, existing.created_at = True, "person", by, now
        existing.is_private = False
        session.add(existing)
        removed.append(tag)
    session.flush()
    index_item(session=session, item=item)
    return removed


def replace_auto_tags(*, session: Session, item: Item, topics: list[tuple[str, str]], now: datetime) -> None:
    """Set the tagger's topics (slug, evidence): earlier automatic tags it no longer gives are dropped;
    tags people, hashtags or channels gave, and tags people removed, are left as they are. The
    search document follows."""
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
        _add_tag(session, item, slug, source="auto", now=now, by=None, evidence=evidence[:512])
    index_item(session=session, item=item)


def _corrections_of(team_id: str, topics: Sequence[str]) -> list[ColumnElement[bool]]:
    return [
        col(ItemTag.team_id) == team_id,
        col(ItemTag.source) == "person",
        col(ItemTag.created_by).is_not(None),
        col(ItemTag.tag).in_(list(topics)),
        seen_by(None),  # a correction given in private teaches nobody else's tagger
    ]


def corrections_version(*, session: Session, team_id: str, topics: Sequence[str]) -> tuple[int, str]:
    """Changes whenever someone in the workspace tags or untags a topic: for caching what was learned."""
    count, latest = session.execute(
        select(func.count(), func.max(col(ItemTag.created_at))).where(*_corrections_of(team_id, topics))
    ).one()
    return int(count), str(latest)


def corrections(
    *, session: Session, team_id: str, topics: Sequence[str], limit: int = 1000
) -> list[tuple[str, str, bool, str]]:
    """People's /shelf tag and untag of topics in a workspace, newest first:
    (the item's title and description, topic, added, by whom)."""
    statement = (
        sa_select(
            col(Item.title), col(Item.description), col(ItemTag.tag), col(ItemTag.removed), col(ItemTag.created_by)
        )
        .join(Item, col(Item.id) == col(ItemTag.item_id))
        .where(*_corrections_of(team_id, topics), in_the_open())  # nor the title of an item seen in private
        .order_by(col(ItemTag.created_at).desc(), col(ItemTag.id).desc())
        .limit(limit)
    )
    return [
        (". ".join(part for part in (title, description) if part), str(tag), not removed, str(by))
        for title, description, tag, removed, by in session.execute(statement)
        if title or description
    ]


_REINDEX = "peershelf_reindex"  # session.info key: ids of items whose search document is due for a refresh


def index_item(*, session: Session, item: Item) -> None:
    """Refresh the item's search document from its fields, current tags and URL (all there is
    before a fetch) when the session commits: once, however many of its tags and fields changed,
    from its row as it is then."""
    assert item.id is not None
    session.info.setdefault(_REINDEX, set()).add(item.id)


_INDEXED = [
    col(c) for c in (Item.id, Item.team_id, Item.title, Item.description, Item.site_name, Item.author, Item.url)
]


@event.listens_for(Session, "before_commit")
def _reindex(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: the transaction goes on
        return
    pending: set[int] = session.info.pop(_REINDEX, set())
    if not pending:
        return
    # The items as they are now, not as this session read them: another one (the page reader) may
    # have committed a title since. Locked until this commit, so a change of theirs under way is
    # waited for, and one that comes later writes the document again after this one. Items deleted
    # meanwhile are not read, and get no document.
    statement = sa_select(*_INDEXED).where(col(Item.id).in_(sorted(pending))).order_by(col(Item.id))
    touch = Item.__table__.c.updated_at  # type: ignore[attr-defined]
    rows = list(read_for_update(session, statement, touch=touch, key_share=True))
    tags = tag_names(session=session, item_ids=[row.id for row in rows], viewer=None)  # the shared documents'
    for row in rows:
        _write_index(session, row, tags.get(row.id, []))


@event.listens_for(Session, "after_transaction_end")
def _forget_reindex(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction, rolled back (a savepoint's end changes nothing)
        session.info.pop(_REINDEX, None)


def _write_index(session: Session, item: Any, tags: list[str]) -> None:
    """Write the shared document of `item` (its `_INDEXED` columns, as read inside this write)."""
    search.index_item(
        session,
        team_id=item.team_id,
        item_id=item.id,
        parts=[item.title, item.description, " ".join(tags), item.site_name, item.author, url_words(item.url)],
    )


def url_words(url: str) -> str:
    """A URL as plain words; PostgreSQL's parser would otherwise keep it as one unsplit token."""
    return re.sub(r"[\W_]+", " ", url.split("://", 1)[-1])
