"""Slack Web API clients pointed at SLACK_API_URL, retrying rate limits and server errors."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.capture import Message
from bot.services import Services
from bot.settings import Settings
from bot.tagging import channel_topics
from storage.channels import get_channel, remember_channel
from storage.models import Channel, Workspace
from storage.workspaces import upsert_workspace

logger = logging.getLogger(__name__)

# Slack asks clients to wait out a 429 for Retry-After seconds; a digest run must never drop a DM
# because a tier limit was hit, so the count is generous.
RATE_LIMIT_RETRIES = 10


def retry_handlers() -> list:  # type: ignore[type-arg]
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A client for `token` (default: the bot token) against the configured Web API base URL."""
    return WebClient(
        token=token if token is not None else settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=retry_handlers(),
        logger=logger,
    )


CHANNEL_INFO_MAX_AGE = timedelta(days=1)


def workspace_url(services: Services, client: WebClient, team_id: str) -> str | None:
    """The workspace's https://….slack.com/ address (for permalinks), asked of Slack once per workspace."""
    with services.new_session() as session:
        workspace = session.get(Workspace, team_id)
        if workspace is not None and workspace.url:
            return workspace.url
    try:
        identity = client.auth_test()
    except SlackApiError as error:
        logger.warning("auth.test failed for team %s: %s", team_id, error.response.get("error"))
        return None
    with services.new_session() as session:
        upsert_workspace(
            session=session,
            team_id=team_id,
            name=identity.get("team"),
            bot_user_id=identity.get("user_id"),
            url=identity.get("url"),
            now=services.clock(),
        )
    url: str | None = identity.get("url")
    return url


def conversation(services: Services, client: WebClient, team_id: str, channel_id: str) -> Channel | None:
    """What Slack says of a channel (conversations.info), cached for a day; None for DMs or on error."""
    if channel_id.startswith("D"):
        return None
    with services.new_session() as session:
        cached = get_channel(session=session, team_id=team_id, channel_id=channel_id)
        if cached is not None and services.clock() - cached.refreshed_at < CHANNEL_INFO_MAX_AGE:
            return cached
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        logger.info("conversations.info %s of team %s: %s", channel_id, team_id, error.response.get("error"))
        return cached
    private = bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim") or info.get("is_group"))
    name, purpose = info.get("name"), (info.get("purpose") or {}).get("value")
    defaults = [] if info.get("is_mpim") or info.get("is_im") else channel_topics(services.taxonomy, name, purpose)
    with services.new_session() as session:
        return remember_channel(
            session=session,
            team_id=team_id,
            channel_id=channel_id,
            name=name,
            purpose=purpose,
            is_private=private,
            default_topics=defaults,
            now=services.clock(),
        )


def channel_is_private(services: Services, client: WebClient, team_id: str, channel_id: str) -> bool:
    """Whether a conversation is private (private channel, DM, group DM); private when unsure."""
    found = conversation(services, client, team_id, channel_id)
    return True if found is None else found.is_private


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
