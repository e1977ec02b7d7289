"""Events API listeners: capture from messages, saves by reaction, who is in which channel, the
Home tab, leaving.

Each answers Slack from the database alone: a message with links is queued for a worker to
capture; whatever needs the Web API runs in a lazy listener or the worker, after Slack has its 200.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.listener.builtins import TokenRevocationListeners
from slack_sdk import WebClient

from bot.commands.parser import Shelf
from bot.services import Services
from bot.services.channels import CHANNEL_CHANGES, channel_changed
from bot.services.home import home_view
from bot.services.leaving import leave
from bot.services.lookups import refresh_profile
from bot.services.members import bot_left, member_joined, member_left, refresh_channel
from bot.services.messages import message_from_event
from bot.services.saving import is_noted, save_seen_message, save_slack_message
from bot.services.shares import queue_message
from bot.slack.messages import fetch_message, tell
from handlers.fields import text_of

logger = logging.getLogger(__name__)


def register(app: App, services: Services, shelf: Shelf) -> None:
    ignored = services.settings.ignore_channels
    saves_with = services.settings.saves_with  # a save emoji, with or without a skin tone
    capture_bots = services.settings.capture_bots

    def capture(event: dict[str, Any], context: BoltContext) -> None:
        """Keep a message with links (or an edit or deletion) for a worker to capture: Slack's
        answer waits for one row. A channel gone private or renamed is recorded at once."""
        if context.team_id is None or text_of(event.get("channel")) in ignored:
            return
        subtype = text_of(event.get("subtype"))
        if subtype in CHANNEL_CHANGES:
            channel_changed(services, context.team_id, event)
            return
        team_id = context.team_id
        message = message_from_event(
            event,
            team_id,
            capture_bots=capture_bots,
            noted=lambda channel, ts: is_noted(services, team_id, channel, ts),
        )
        if message is not None:
            queue_message(services, message)

    app.event("message")(capture)

    def _reaction(event: dict[str, Any]) -> tuple[str, str, str] | None:
        item = event.get("item")
        if not saves_with(event.get("reaction")) or not isinstance(item, dict) or item.get("type") != "message":
            return None
        return str(item.get("channel")), str(item.get("ts")), str(event.get("user"))

    def save_seen(event: dict[str, Any], context: BoltContext) -> None:
        target = _reaction(event)
        if target is None or context.team_id is None:
            return
        channel, ts, user = target
        if channel in ignored:
            context["confirmation"] = ("Peershelf doesn't save from this channel.", None)
            return
        context["confirmation"] = save_seen_message(
            services, team_id=context.team_id, channel_id=channel, ts=ts, user_id=user
        )

    def confirm_or_save_unseen(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        target = _reaction(event)
        if target is None or context.team_id is None:
            return
        channel, ts, user = target
        confirmation = context.get("confirmation")
        if confirmation is None:  # a message Peershelf never saw: read it from Slack
            raw = fetch_message(client, channel, ts)
            if raw is None:
                text = "I couldn't read that message, so nothing was saved. Is Peershelf in that conversation?"
                tell(client, channel_id=channel, user_id=user, text=text)
                return
            confirmation = save_slack_message(
                services, client, team_id=context.team_id, channel_id=channel, raw={**raw, "ts": ts}, reactor_id=user
            )
        text, shown = confirmation
        tell(client, channel_id=channel, user_id=user, text=text, blocks=shown)

    app.event("reaction_added")(ack=save_seen, lazy=[confirm_or_save_unseen])

    # Who is in which channel (bot.services.members): a colleague's join or leave is recorded at once;
    # the bot's own join is read from Slack (conversations.members) once Slack has its answer.
    def _membership(event: dict[str, Any], context: BoltContext) -> tuple[str, str, str] | None:
        channel, user = text_of(event.get("channel")), text_of(event.get("user"))
        if context.team_id is None or not channel or not user or channel in ignored:
            return None
        return context.team_id, channel, user

    def joined(event: dict[str, Any], context: BoltContext) -> None:
        found = _membership(event, context)
        if found is not None and found[2] != context.bot_user_id:
            member_joined(services, team_id=found[0], channel_id=found[1], user_id=found[2])

    def read_joined_channel(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        found = _membership(event, context)
        if found is not None and found[2] == context.bot_user_id:
            refresh_channel(services, client, found[0], found[1])

    def left(event: dict[str, Any], context: BoltContext) -> None:
        found = _membership(event, context)
        if found is None:
            return
        if found[2] == context.bot_user_id:
            bot_left(services, team_id=found[0], channel_id=found[1])
        else:
            member_left(services, team_id=found[0], channel_id=found[1], user_id=found[2])

    app.event("member_joined_channel")(ack=joined, lazy=[read_joined_channel])
    app.event("member_left_channel")(left)

    def home_opened(event: dict[str, Any]) -> None:
        """Nothing to record: the tab is drawn once Slack has its answer."""

    def publish_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        team_id, user_id = context.team_id or "", str(event["user"])
        refresh_profile(services, client, team_id, user_id)  # whether they are an admin, asked once a week
        publish(services, client, team_id=team_id, user_id=user_id, shelf=shelf)

    app.event("app_home_opened")(ack=home_opened, lazy=[publish_home])

    # Leaving: the tokens go from the installation store (OAuth mode) and the workspace is marked,
    # so nothing calls Slack for it from the next instant; its data goes SHELF_FORGET_AFTER_DAYS later.
    store = app.installation_store
    revocations = TokenRevocationListeners(store) if store is not None else None

    def uninstalled(context: BoltContext) -> None:
        if context.team_id is None:
            return
        leave(services, context.team_id)
        if revocations is not None:
            revocations.handle_app_uninstalled_events(context)

    def tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        tokens = event.get("tokens")
        tokens = tokens if isinstance(tokens, dict) else {}
        revoked = {kind: ids for kind in ("oauth", "bot") if isinstance(ids := tokens.get(kind), list) and ids}
        if context.team_id is None or not revoked:
            return
        if "bot" in revoked:  # people's own tokens are not Peershelf's to use; only the bot's matters
            leave(services, context.team_id)
        if revocations is not None:
            revocations.handle_tokens_revoked_events({"tokens": revoked}, context)

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


def publish(services: Services, client: WebClient, *, team_id: str, user_id: str, shelf: Shelf) -> None:
    """(Re)publish a person's Home tab."""
    view = home_view(services, team_id=team_id, user_id=user_id, commands=shelf.entries(), tips=shelf.tips)
    client.views_publish(user_id=user_id, view=view)
