"""Saving to a shelf: a save emoji on a message, the *Save to shelf* shortcut, Save and Done buttons.

A reaction on a message Peershelf captured is saved from the database alone, before Slack has
its answer. A message it never saw must be read from Slack (conversations.history / .replies,
tightly rate-limited for distributed apps), so that happens after the ack.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from bot.reading.links import links_in_message
from bot.reading.topics import Taxonomy
from bot.services import Services
from bot.services.capture import Message, Saved, capture_message, permalink, save_items, save_links, save_note
from bot.services.lookups import channel_is_private, workspace_url
from bot.services.picks import forget_cached
from bot.services.recommendations import suggestions
from bot.slack import blocks
from storage import items as item_store
from storage import picks as pick_store
from storage.visibility import note_key

Confirmation = tuple[str, list[blocks.Block]]  # fallback text and blocks


def is_noted(services: Services, team_id: str, channel_id: str, ts: str) -> bool:
    """Whether someone saved this message as a note (its edit or deletion then changes the note).
    One indexed read, at the ack of an edit or deletion of a message without links."""
    if not ts:
        return False
    with services.new_session() as session:
        return (
            item_store.item_by_url(session=session, team_id=team_id, canonical_url=note_key(channel_id, ts)) is not None
        )


def save_seen_message(
    services: Services, *, team_id: str, channel_id: str, ts: str, user_id: str
) -> Confirmation | None:
    """Save the items of a message Peershelf already captured; None when it never saw the message."""
    with services.transaction() as session:
        items = item_store.items_of_message(session=session, team_id=team_id, channel_id=channel_id, message_ts=ts)
        if not items:
            return None
        saved = save_items(
            session=session, team_id=team_id, user_id=user_id, items=items, now=services.clock(), source="reaction"
        )
        return confirmation(saved), confirmation_blocks(session, saved, user_id)


def save_slack_message(
    services: Services, client: WebClient, *, team_id: str, channel_id: str, raw: dict[str, Any], reactor_id: str
) -> Confirmation:
    """Save a message as Slack gave it (a reaction on an unseen message, the Save to shelf shortcut)."""
    message, is_bot = message_from_slack(services, client, team_id, channel_id, raw)
    url = workspace_url(services, client, team_id)
    with services.transaction() as session:
        saved = save_fetched_message(
            session=session,
            message=message,
            is_bot=is_bot,
            reactor_id=reactor_id,
            workspace_url=url,
            now=services.clock(),
            taxonomy=services.taxonomy,
        )
        shown = confirmation_blocks(session, saved, reactor_id)
    services.fetch_wakeup.set()
    return confirmation(saved), shown


def save_fetched_message(
    *,
    session: Session,
    message: Message,
    is_bot: bool,
    reactor_id: str,
    workspace_url: str | None,
    now: datetime,
    taxonomy: Taxonomy,
) -> list[Saved]:
    """Save a message read from Slack: capture its links (as a share, unless a bot wrote it), else a note."""
    team_id = message.team_id
    if is_bot:
        links = links_in_message(message.text, message.blocks)
        if links:
            return save_links(
                session=session,
                team_id=team_id,
                user_id=reactor_id,
                links=links,
                now=now,
                source="reaction",
                taxonomy=taxonomy,
            )
    else:
        captured = capture_message(
            session=session, message=message, now=now, workspace_url=workspace_url, taxonomy=taxonomy
        )
        if captured:
            items = list({c.item.id: c.item for c in captured}.values())
            return save_items(
                session=session, team_id=team_id, user_id=reactor_id, items=items, now=now, source="reaction"
            )
    link = permalink(workspace_url, message.channel_id, message.ts, message.thread_ts)
    note = save_note(session=session, team_id=team_id, user_id=reactor_id, message=message, link=link, now=now)
    return [note]


def message_from_slack(
    services: Services, client: WebClient, team_id: str, channel_id: str, raw: dict[str, Any]
) -> tuple[Message, bool]:
    """A message as Slack gave it (history, a shortcut's payload), and whether a bot wrote it.

    The conversation's privacy comes from conversations.info (cached): unsure means private.
    """
    private = channel_is_private(services, client, team_id, channel_id)
    message = Message(
        team_id=team_id,
        channel_id=channel_id,
        channel_type="im" if channel_id.startswith("D") else ("group" if private else "channel"),
        user_id=str(raw.get("user") or raw.get("bot_id") or ""),
        ts=str(raw.get("ts", "")),
        text=raw.get("text") or "",
        thread_ts=raw.get("thread_ts"),
        blocks=raw.get("blocks"),
    )
    is_bot = bool(raw.get("bot_id")) or raw.get("subtype") == "bot_message" or not raw.get("user")
    return message, is_bot


def confirmation(saved: list[Saved]) -> str:
    """What the reactor is told: what was saved, and what was already on their shelf."""
    new = [s for s in saved if s.new]
    old = [s for s in saved if not s.new]
    lines = []
    if new:
        lines.append("Saved to your shelf: " + ", ".join(f"{blocks.item_link(s.item)} (`{s.item.id}`)" for s in new))
    if old:
        lines.append("Already on your shelf: " + ", ".join(blocks.item_link(s.item) for s in old))
    return "\n".join(lines)


def confirmation_blocks(session: Session, saved: list[Saved], reactor_id: str) -> list[blocks.Block]:
    """The confirmation, with colleagues to recommend the first newly saved item to."""
    shown = [blocks.section(confirmation(saved))]
    first_new = next((s for s in saved if s.new), None)
    if first_new is not None:
        people = suggestions(session=session, team_id=first_new.item.team_id, item=first_new.item, asker=reactor_id)
        shown += blocks.suggestion_blocks(first_new.item, people)
    return shown


# -- the Save and Done buttons on item cards ---------------------------------------------------------


def save_pressed(services: Services, *, team_id: str, user_id: str, item_id: int) -> str:
    """The Save button of an item card, pressed by someone who may see the item (else nothing)."""
    with services.transaction() as session:
        item = item_store.visible_item(session=session, team_id=team_id, user_id=user_id, item_id=item_id)
        if item is None:
            return "That item is no longer there."
        _, new = item_store.save_item(
            session=session, team_id=team_id, user_id=user_id, item=item, source="button", now=services.clock()
        )
    link = blocks.item_link(item)
    return f"Saved {link} to your shelf." if new else f"{link} is already on your shelf."


def not_for_me_pressed(services: Services, *, team_id: str, user_id: str, item_id: int) -> tuple[str, str | None]:
    """*Not for me* on a pick: never picked for them again, and items like it rank lower for them
    (bot.services.picks). What they are told, and the item's link for the message's folded card
    (None when there is no item to wave off)."""
    with services.transaction() as session:
        item = item_store.visible_item(session=session, team_id=team_id, user_id=user_id, item_id=item_id)
        if item is None:
            return "That item is no longer there.", None
        pick_store.dismiss(session, team_id=team_id, user_id=user_id, item_id=item.id or 0, now=services.clock())
    forget_cached(team_id)  # their next look ranks items like it lower
    link = blocks.item_link(item)
    return f"Got it: {link} is not for you. You'll see fewer like it.", link


def done_pressed(services: Services, *, team_id: str, user_id: str, item_id: int) -> str:
    """The Done button of an item card: on the presser's shelf, marked read."""
    with services.new_session() as session:
        item = item_store.visible_item(session=session, team_id=team_id, user_id=user_id, item_id=item_id)
        if item is None:
            return "That item is no longer there."
        item_store.mark_done(
            session=session, team_id=team_id, user_id=user_id, item=item, source="button", now=services.clock()
        )
    return f"Marked {blocks.item_link(item)} as done."
