"""Events API listeners."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import blocks
from bot.shelf_command import Shelf


def register(app: App, shelf: Shelf) -> None:
    @app.event("app_home_opened")
    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        entries = [(sub.usage, sub.summary) for sub in shelf.listed()]
        client.views_publish(user_id=event["user"], view=blocks.home_view(entries))
