"""Message shortcuts declared in manifest.yml: Save to shelf, and Recommend…."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.reading.links import links_in_message
from bot.services import Services
from bot.services.saving import save_slack_message
from bot.slack import blocks

SHORTCUTS = {"save_to_shelf": "Save to shelf", "recommend_message": "Recommend…"}


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def save_to_shelf(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
        raw = body.get("message") or {}
        team_id, channel = context.team_id, (body.get("channel") or {}).get("id", "")
        user = (body.get("user") or {}).get("id", "")
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

    def open_recommend(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        raw = body.get("message") or {}
        links = [link.url for link in links_in_message(raw.get("text") or "", raw.get("blocks"))]
        if not links:
            respond(text="That message has no link to recommend.", response_type="ephemeral", replace_original=False)
            return
        meta = {
            "channel": (body.get("channel") or {}).get("id", ""),
            "ts": raw.get("ts"),
            "thread_ts": raw.get("thread_ts"),
            "author": raw.get("user"),
            "links": links[:20],
        }
        view = blocks.recommend_modal(private_metadata=json.dumps(meta), item=None, links=links[:20], preset_users=[])
        client.views_open(trigger_id=body["trigger_id"], view=view)

    # views.open needs the trigger within three seconds: the modal opens before Slack gets its answer.
    app.shortcut("recommend_message")(open_recommend)
