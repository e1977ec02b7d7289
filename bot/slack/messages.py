"""Messages in Slack: reading one the bot has not seen, and telling one person something quietly."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)


def fetch_message(client: WebClient, channel_id: str, ts: str) -> dict[str, Any] | None:
    """A message the bot has not seen: conversations.history, then .replies for thread replies.

    Both are tightly rate-limited for distributed apps, so callers try captured messages first.
    """
    try:
        history = client.conversations_history(channel=channel_id, oldest=ts, latest=ts, inclusive=True, limit=1)
        for message in history.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
        # Slack answers with the thread's parent first, whichever message of the thread `ts` names.
        replies = client.conversations_replies(channel=channel_id, ts=ts, oldest=ts, latest=ts, inclusive=True)
        for message in replies.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
    except SlackApiError as error:
        logger.info("cannot read message %s in %s: %s", ts, channel_id, error.response.get("error"))
    return None


def tell(
    client: WebClient, *, channel_id: str | None, user_id: str, text: str, blocks: list[Any] | None = None
) -> None:
    """An ephemeral message in the channel, or a DM where an ephemeral cannot be posted."""
    if channel_id and not channel_id.startswith("D"):
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=blocks)
            return
        except SlackApiError as error:
            logger.info("ephemeral in %s refused (%s); sending a DM", channel_id, error.response.get("error"))
    client.chat_postMessage(channel=user_id, text=text, blocks=blocks, unfurl_links=False)
