"""The `/shelf` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands.parser import Invocation, Shelf
from bot.services import Services
from bot.services.export import export_json
from bot.services.recommendation_dms import deliver


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
        context["export"] = reply.export
        ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks)

    def send_recommendations(context: BoltContext, client: WebClient) -> None:
        if context.get("deliver"):
            deliver(services, client, context["deliver"])

    def send_export(context: BoltContext, client: WebClient, command: dict[str, Any]) -> None:
        if not context.get("export"):
            return
        user = command.get("user_id", "")
        with services.new_session() as session:
            document = export_json(session, team_id=context.team_id or "", user_id=user, now=services.clock())
        channel = client.conversations_open(users=user)["channel"]["id"]
        client.files_upload_v2(
            channel=channel,
            content=document,
            filename="peershelf-export.json",
            title="Your Peershelf data",
            initial_comment="Here is everything Peershelf keeps for you: saves and notes, lists, follows, "
            "interests and recommendations.",
        )

    # DMs go out once Slack has its answer; the scheduler resends any that never went out.
    app.command("/shelf")(ack=shelf_command, lazy=[send_recommendations, send_export])
