"""Slack's message payloads (events, history) as capture reads them: which to read, by whom, and
what an edit or a deletion says about the message it changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.reading.links import may_hold_links
from bot.services.capture import Message


def text_of(value: Any) -> str:
    """A field Slack sends as a string; anything else counts as missing."""
    return value if isinstance(value, str) else ""


_ID = re.compile(r"[A-Z0-9]{2,32}")  # a Slack ID: T…, C…, G…, D…, U…, W…, B…
_TS = re.compile(r"\d{1,20}\.\d{1,10}")  # a message's ts: 1764238600.000100


def slack_id(value: Any) -> str:
    """`value` if it is shaped like a Slack ID (what a column of IDs can hold), else ""."""
    text = text_of(value)
    return text if _ID.fullmatch(text) else ""


def message_ts(value: Any) -> str:
    text = text_of(value)
    return text if _TS.fullmatch(text) else ""


# Messages read for links: plain ones, thread replies sent to the channel too, messages sharing
# files, /me; a bot's or a workflow's only with SHELF_CAPTURE_BOTS. Joins, topic changes and other
# housekeeping are not read.
READ_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message", "bot_message"})


def message_from_event(
    event: dict[str, Any],
    team_id: str | None,
    *,
    capture_bots: bool = False,
    noted: Callable[[str, str], bool] = lambda channel, ts: False,
) -> Message | None:
    """What to capture from a `message` event: a new message, or (`revised`) the new state of an
    edited one, or a deleted one (no text). None for housekeeping subtypes, for bots' messages
    unless `capture_bots`, for an edit that changed nothing capture reads (an unfurl), for the
    edit or deletion of a message without links that nobody saved as a note (`noted(channel,
    ts)`, asked only then), and for a message whose fields are not what Slack sends (a user,
    channel or ts that is not shaped like one)."""
    channel = slack_id(event.get("channel"))
    if not team_id or not channel:
        return None
    # Without a channel_type, treat the conversation as private: never leak by guessing.
    channel_type = text_of(event.get("channel_type")) or ("im" if channel.startswith("D") else "group")
    where = {"team_id": team_id, "channel_id": channel, "channel_type": channel_type}
    subtype = text_of(event.get("subtype"))
    if subtype == "message_changed":
        now, before = _fields(event.get("message")), _fields(event.get("previous_message"))
        if now is None or (before is not None and _words(now) == _words(before)):
            return None
        if (
            before is not None
            and not may_hold_links(*_words(now))
            and not may_hold_links(*_words(before))
            and not noted(channel, message_ts(now.get("ts")))
        ):
            return None
        if text_of(now.get("subtype")) == "tombstone":  # a thread's parent, deleted while its replies stay
            gone = {**(before or {}), "ts": now.get("ts"), "text": "", "blocks": None, "subtype": ""}
            return read_message(gone, where, capture_bots=capture_bots, revised=True, anyone=True)
        return read_message(now, where, capture_bots=capture_bots, revised=True)
    if subtype == "message_deleted":
        before = _fields(event.get("previous_message")) or {}
        if before and not may_hold_links(*_words(before)) and not noted(channel, message_ts(event.get("deleted_ts"))):
            return None
        gone = {**before, "ts": event.get("deleted_ts"), "text": "", "blocks": None}
        return read_message(gone, where, capture_bots=capture_bots, revised=True, anyone=True)
    return read_message(event, where, capture_bots=capture_bots)


def _fields(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _words(fields: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
    blocks = fields.get("blocks")
    return text_of(fields.get("text")), blocks if isinstance(blocks, list) else None


def read_message(
    fields: dict[str, Any], where: dict[str, str], *, capture_bots: bool, revised: bool = False, anyone: bool = False
) -> Message | None:
    """A message (an event's, or one from conversations.history) in the conversation `where` names
    (team_id, channel_id, channel_type); None when capture does not read it."""
    if text_of(fields.get("subtype")) not in READ_SUBTYPES:
        return None
    user, bot, ts = slack_id(fields.get("user")), slack_id(fields.get("bot_id")), message_ts(fields.get("ts"))
    if bot or fields.get("subtype") == "bot_message":
        if not capture_bots:
            return None
        user = user or bot
    if not ts or not (user or anyone):
        return None
    text, blocks = _words(fields)
    return Message(
        **where,
        user_id=user,
        ts=ts,
        text=text,
        thread_ts=message_ts(fields.get("thread_ts")) or None,
        blocks=blocks,
        revised=revised,
    )
