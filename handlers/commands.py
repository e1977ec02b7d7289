"""The `/shelf` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.shelf_command import Invocation, Shelf


def register(app: App, shelf: Shelf) -> None:
    @app.command("/shelf")
    def shelf_command(ack: Ack, command: dict[str, Any]) -> None:
        invocation = Invocation(
            team_id=command.get("team_id", ""),
            user_id=command.get("user_id", ""),
            channel_id=command.get("channel_id", ""),
            text=command.get("text", "") or "",
        )
        reply = shelf.handle(invocation)
        ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks)
