"""The `/shelf` slash command: answered from the database, with anything that needs Slack after."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.commands.later import run_later
from bot.commands.parser import Invocation, Later, Shelf
from bot.services import Services


def register(app: App, services: Services, shelf: Shelf) -> None:
    def shelf_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        invocation = Invocation(
            team_id=str(command.get("team_id") or ""),
            user_id=str(command.get("user_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            text=str(command.get("text") or ""),
        )
        reply = shelf.handle(invocation)
        if reply.later:
            context["later"] = reply.later  # plain values, as Bolt copies the context for lazy listeners
        ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks)

    def after_ack(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
        later: Later | None = context.get("later")
        if not later:
            return

        def tell(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=False)

        def show(text: str, shown: list[dict[str, Any]]) -> None:
            respond(text=text, blocks=shown, response_type="ephemeral", replace_original=True)

        run_later(
            services,
            client,
            team_id=str(command.get("team_id") or ""),
            user_id=str(command.get("user_id") or ""),
            later=later,
            tell=tell,
            show=show,
        )

    # DMs, look-ups, uploads and previews go out once Slack has its answer; the scheduler resends lost DMs.
    app.command("/shelf")(ack=shelf_command, lazy=[after_ack])
