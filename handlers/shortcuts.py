"""Message shortcuts declared in manifest.yml.

A shortcut whose feature is not in this version is still answered: the person is told plainly
instead of Slack showing a failed-request error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.capture import Message
from bot.reactions import confirmation, save_fetched_message
from bot.services import Services
from bot.slack import channel_is_private, workspace_url

NOT_YET = (
    "*{name}* isn't available in this version of Peershelf yet, so nothing was done. "
    "`/shelf help` lists what works today."
)

SHORTCUTS = {"save_to_shelf": "Save to shelf", "recommend_message": "Recommend…"}


def _not_yet(name: str) -> Callable[[Ack, Respond], None]:
    def answer(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text=NOT_YET.format(name=name), response_type="ephemeral", replace_original=False)

    return answer


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
        private = channel_is_private(services, client, team_id, channel)
        message = Message(
            team_id=team_id,
            channel_id=channel,
            channel_type="im" if channel.startswith("D") else ("group" if private else "channel"),
            user_id=str(raw.get("user") or raw.get("bot_id") or ""),
            ts=str(raw["ts"]),
            text=raw.get("text") or "",
            thread_ts=raw.get("thread_ts"),
            blocks=raw.get("blocks"),
        )
        url = workspace_url(services, client, team_id)
        with services.new_session() as session:
            saved = save_fetched_message(
                session=session,
                message=message,
                is_bot=bool(raw.get("bot_id")) or not raw.get("user"),
                reactor_id=user,
                workspace_url=url,
                now=services.clock(),
                taxonomy=services.taxonomy,
            )
        services.fetch_wakeup.set()
        respond(text=confirmation(saved), response_type="ephemeral", replace_original=False)

    # Slack gets its answer at once; reading the channel's privacy and saving happen after it.
    app.shortcut("save_to_shelf")(ack=acknowledge, lazy=[save_to_shelf])
    app.shortcut("recommend_message")(_not_yet(SHORTCUTS["recommend_message"]))
