"""The `/shelf` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.delivery import deliver
from bot.services import Services
from bot.shelf_command import Invocation, Shelf


def register(app: App, services: Services, shelf: Shelf) -> None:
    def shelf_command(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        invocation = Invocation(
            team_id=command.get("team_id", ""),
            user_id=command.get("user_id", ""),
            channel_id=command.get("channel_id", ""),
            text=command.get("text", "") or "",
            client=client,
        )
        reply = shelf.handle(invocation)
        context["deliver"] = list(reply.deliver)
        ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks)

    def send_recommendations(context: BoltContext, client: WebClient) -> None:
        if context.get("deliver"):
            deliver(services, client, context["deliver"])

    # DMs go out once Slack has its answer; the scheduler resends any that never went out.
    app.command("/shelf")(ack=shelf_command, lazy=[send_recommendations])
