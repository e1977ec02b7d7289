"""Message shortcuts declared in manifest.yml: Save to shelf, and Recommend…."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.reading.links import links_in_message
from bot.services import Services
from bot.services.lookups import conversation, workspace_url
from bot.services.saving import save_slack_message
from bot.slack import blocks
from handlers.fields import user_of

SHORTCUTS = {"save_to_shelf": "Save to shelf", "recommend_message": "Recommend…"}
MAX_LINKS = 20


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def save_to_shelf(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
        raw = body.get("message") or {}
        team_id, channel = context.team_id, str((body.get("channel") or {}).get("id") or "")
        user = user_of(body)
        if not team_id or not raw.get("ts") or not user:
            respond(text="I couldn't read that message, so nothing was saved.", response_type="ephemeral")
            return
        if channel in services.settings.ignore_channels:
            respond(text="Peershelf doesn't save from this channel.", response_type="ephemeral")
            return
        text, shown = save_slack_message(
            services, client, team_id=team_id, channel_id=channel, raw=raw, reactor_id=user
        )
        respond(text=text, blocks=shown, response_type="ephemeral", replace_original=False)

    # Slack gets its answer at once; reading the channel's privacy and saving happen after it.
    app.shortcut("save_to_shelf")(ack=acknowledge, lazy=[save_to_shelf])

    def open_recommend(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
        raw = body.get("message") or {}
        links = [link.url for link in links_in_message(raw.get("text") or "", raw.get("blocks"))][:MAX_LINKS]
        if not links:
            respond(text="That message has no link to recommend.", response_type="ephemeral", replace_original=False)
            return
        channel = str((body.get("channel") or {}).get("id") or "")
        if context.team_id:
            # Asked now, while the person picks colleagues, so that sending the modal needs no
            # call to Slack: whether the channel is public, and the workspace's address.
            conversation(services, client, context.team_id, channel)
            workspace_url(services, client, context.team_id)
        meta = {
            "channel": channel,
            "ts": raw.get("ts"),
            "thread_ts": raw.get("thread_ts"),
            "author": raw.get("user"),
            "links": links,
        }
        view = blocks.recommend_modal(private_metadata=json.dumps(meta), title=None, links=links, preset_users=[])
        client.views_open(trigger_id=body["trigger_id"], view=view)

    # The modal opens from a lazy listener, well within the three seconds its trigger lasts.
    app.shortcut("recommend_message")(ack=acknowledge, lazy=[open_recommend])
