"""Who may see what: the one rule every reader and writer of items goes through.

An item is one link, book or saved message of a workspace. What it shows comes from two places:

- **The item itself** — a page's title, description, site and image, a book's title — is what
  anyone could read at its address. Everyone in the workspace sees it once the item is *in the
  open*: shared in a public channel, put on a curated list, or added by a list's feed. Until
  then only the people it is *theirs* to see: who shared it (a typed link is its typist's own
  share), saved it, recommended it or were sent it (`visible_to`).
- **What people did with it** — shares with their words and channels, #hashtags, a channel's
  topics, notes, saves — belongs to where it happened. A share in a private channel, group or
  DM, or a typed link, is seen only by its sharer (`share_seen_by`); a tag written there only by
  its writer, and a private channel's topics by nobody (`tag_seen_by`); a save and its note only
  by the saver. Public surfaces (digests' top, roundups, the report, lists and their feeds,
  search documents) count and show only what was done in the open, so nothing private is
  visible even as a number: a save or a recommendation counts once the item was in the open
  when it was made (`done_in_the_open`), never one made while it was private.

A saved Slack message (a *note*) is the exception that proves the rule: its title is the
message's own words, so the item itself is private when the message was. A note is keyed by
its conversation and timestamp, never by a link anyone can type or post (`note_key`), so naming
its permalink finds another item, not the note; it is in the open only while its message is
(`may_go_public`): a list, a public mention or a channel's history never makes it public, and
its words follow the message (edited, deleted, its author forgotten).

Typing or posting a link therefore never widens what anyone may see of what was already there:
the typist gains the item itself, which the address gave them anyway, and nothing of what
others did with it in private.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.models import Channel, Item, ItemTag, ListItem, Recommendation, Save, Share

NOTE_PREFIX = "urn:peershelf:note:"
# A link typed into a command is its typist's own share, recorded in no channel: it can never
# count as a channel's activity (a roundup, "popular in #…"), public or not.
TYPED_CHANNEL = ""
TYPED_CHANNEL_TYPE = "command"


def note_key(channel_id: str, ts: str) -> str:
    """The key of a saved Slack message: its conversation and timestamp, which no typed or posted
    link canonicalises to."""
    return f"{NOTE_PREFIX}{channel_id}:{ts}"


def is_note(item: Item) -> bool:
    return item.canonical_url.startswith(NOTE_PREFIX)


def notes_of_channel(channel_id: str) -> ColumnElement[bool]:
    """Notes saved from messages of one conversation."""
    pattern = note_key(channel_id, "").replace("%", r"\%").replace("_", r"\_") + "%"
    return col(Item.canonical_url).like(pattern, escape="\\")


def may_go_public(item: Item) -> bool:
    """Whether sharing in the open, a list or a feed may make the item public: anything but a
    note, whose audience is its message's alone."""
    return not is_note(item)


def may_pass_on(item: Item) -> bool:
    """Whether someone who sees the item may send it to a colleague (a recommendation, a
    suggestion): anything but a note from a private conversation, whose words are only for the
    people who were there."""
    return not (is_note(item) and not item.is_public)


# -- items ------------------------------------------------------------------------------------------


def in_the_open() -> ColumnElement[bool]:
    """Items everyone in their workspace may see."""
    return col(Item.is_public) == true()


def visible_to(team_id: str, user_id: str) -> ColumnElement[bool]:
    """Items a person may see: those in the open, and private ones they shared, saved,
    recommended or were sent."""
    return and_(
        col(Item.team_id) == team_id,
        or_(
            in_the_open(),
            exists().where(col(Share.item_id) == col(Item.id), col(Share.user_id) == user_id),
            exists().where(col(Save.item_id) == col(Item.id), col(Save.user_id) == user_id),
            exists().where(
                col(Recommendation.item_id) == col(Item.id),
                or_(col(Recommendation.from_user_id) == user_id, col(Recommendation.to_user_id) == user_id),
            ),
        ),
    )


# -- what people did with items ----------------------------------------------------------------------


def share_in_the_open() -> ColumnElement[bool]:
    """Shares anyone may know of: made in a public channel (never a typed link, a DM, a group)."""
    return col(Share.is_private).is_(False)


def done_in_the_open(item_id: Any, at: Any) -> ColumnElement[bool]:
    """Whether what someone did with item `item_id` at `at` (a save, a recommendation: columns of
    the row counted) was done in the open: the item had been shared in a public channel or put on
    a list by then, or it is a note of a message in the open. Done earlier, it was done in private,
    and it stays out of every count even once the item reaches the open: otherwise the first
    public share of a link would show, as a number, who had saved or sent it in private."""
    when = col(at)
    # The note is looked up by its id (an alias, never correlated with an item the outer query reads).
    note = aliased(Item)
    return or_(
        exists().where(col(Share.item_id) == col(item_id), share_in_the_open(), col(Share.shared_at) <= when),
        exists().where(col(ListItem.item_id) == col(item_id), col(ListItem.added_at) <= when),
        exists().where(
            col(note.id) == col(item_id), col(note.canonical_url).startswith(NOTE_PREFIX), col(note.is_public) == true()
        ),
    )


def share_seen_by(viewer: str | None) -> ColumnElement[bool]:
    """Shares `viewer` may know of: those in the open and their own. None: only those in the open."""
    if viewer is None:
        return share_in_the_open()
    return or_(share_in_the_open(), col(Share.user_id) == viewer)


def tag_seen_by(viewer: str | None) -> ColumnElement[bool]:
    """Tags `viewer` may see: every tag given in the open, and the private ones they wrote
    themselves (a private channel's topics have no writer: nobody sees them). None: only those
    given in the open (digests, search documents, public lists)."""
    if viewer is None:
        return col(ItemTag.is_private).is_(False)
    return or_(col(ItemTag.is_private).is_(False), col(ItemTag.created_by) == viewer)


# -- conversations -----------------------------------------------------------------------------------


def channel_in_the_open() -> ColumnElement[bool]:
    """Channels (rows of the channel cache) whose activity, and who is in them, anyone may know of:
    those Slack said are public. A channel never asked about has no row, so a query that joins the
    cache counts it as private, and a channel made private drops out the moment the cache says so."""
    return col(Channel.is_private).is_(False)
