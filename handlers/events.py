"""Events API listeners: capture from messages, saves by reaction, the Home tab."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.commands.parser import Shelf
from bot.services import Services
from bot.services.capture import Message, add_channel_topics, capture_message, duplicate_notices
from bot.services.home import home_view
from bot.services.lookups import conversation, workspace_url
from bot.services.saving import confirmation, confirmation_blocks, save_known_message, save_slack_message
from bot.slack.messages import fetch_message, tell
from storage.channels import default_topics

logger = logging.getLogger(__name__)


def message_from_event(event: dict[str, Any], team_id: str | None) -> Message | None:
    """The message to capture, or None for bot messages, edits, deletions, joins and other subtypes."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user") or not team_id:
        return None
    channel = str(event.get("channel", ""))
    # Without a channel_type, treat the conversation as private: never leak by guessing.
    channel_type = event.get("channel_type") or ("im" if channel.startswith("D") else "group")
    return Message(
        team_id=team_id,
        channel_id=channel,
        channel_type=channel_type,
        user_id=str(event["user"]),
        ts=str(event.get("ts", "")),
        text=event.get("text") or "",
        thread_ts=event.get("thread_ts"),
        blocks=event.get("blocks"),
    )


def register(app: App, services: Services, shelf: Shelf) -> None:
    ignored = services.settings.ignore_channels
    save_reactions = set(services.settings.save_reactions)

    def capture(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        message = message_from_event(event, context.team_id)
        if message is None or message.channel_id in ignored:
            return
        with services.new_session() as session:
            captured = capture_message(
                session=session,
                message=message,
                now=services.clock(),
                taxonomy=services.taxonomy,
                workspace_url=lambda: workspace_url(services, client, message.team_id),
            )
        context["new_share_ids"] = [c.share.id for c in captured if c.new_share]
        if any(c.new_item for c in captured):
            services.fetch_wakeup.set()

    def after_capture(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        share_ids = context.get("new_share_ids") or []
        if not share_ids or context.team_id is None:
            return
        # A channel named or described after a topic (#eng-python) lends it to what is shared there.
        topics = default_topics(conversation(services, client, context.team_id, str(event.get("channel"))))
        with services.new_session() as session:
            if topics:
                add_channel_topics(session=session, share_ids=share_ids, topics=topics, now=services.clock())
            notices = duplicate_notices(session=session, share_ids=share_ids)
        for share, text in notices:
            tell(client, channel_id=share.channel_id, user_id=share.user_id, text=text)

    app.event("message")(ack=capture, lazy=[after_capture])

    def _reaction(event: dict[str, Any]) -> tuple[str, str, str] | None:
        item = event.get("item") or {}
        if event.get("reaction") not in save_reactions or item.get("type") != "message":
            return None
        return str(item.get("channel")), str(item.get("ts")), str(event.get("user"))

    def save_seen(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        target = _reaction(event)
        if target is None or context.team_id is None:
            return
        channel, ts, user = target
        if channel in ignored:
            context["reaction_handled"] = True
            tell(client, channel_id=channel, user_id=user, text="Peershelf doesn't save from this channel.")
            return
        with services.new_session() as session:
            saved = save_known_message(
                session=session, team_id=context.team_id, channel_id=channel, ts=ts, user_id=user, now=services.clock()
            )
            shown = confirmation_blocks(session, saved, user) if saved is not None else None
        if saved is not None:
            context["reaction_handled"] = True
            tell(client, channel_id=channel, user_id=user, text=confirmation(saved), blocks=shown)

    def save_unseen(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        target = _reaction(event)
        if target is None or context.get("reaction_handled") or context.team_id is None:
            return
        channel, ts, user = target
        raw = fetch_message(client, channel, ts)
        if raw is None:
            text = "I couldn't read that message, so nothing was saved. Is Peershelf in that conversation?"
            tell(client, channel_id=channel, user_id=user, text=text)
            return
        text, shown = save_slack_message(
            services, client, team_id=context.team_id, channel_id=channel, raw={**raw, "ts": ts}, reactor_id=user
        )
        tell(client, channel_id=channel, user_id=user, text=text, blocks=shown)

    app.event("reaction_added")(ack=save_seen, lazy=[save_unseen])

    @app.event("app_home_opened")
    def publish_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        publish(services, client, team_id=context.team_id or "", user_id=event["user"], shelf=shelf)


def publish(services: Services, client: WebClient, *, team_id: str, user_id: str, shelf: Shelf) -> None:
    """(Re)publish a person's Home tab."""
    view = home_view(services, team_id=team_id, user_id=user_id, commands=shelf.entries(), tips=shelf.tips)
    client.views_publish(user_id=user_id, view=view)
