"""Thin Slack listeners, one module per surface; `register` wires them onto a Bolt app."""

from __future__ import annotations

from slack_bolt import App

from bot.digest_commands import DigestCommands
from bot.list_commands import ListCommands
from bot.recommend_commands import RecommendCommands
from bot.services import Services
from bot.shelf_command import Shelf
from bot.shelf_commands import CaptureCommands
from bot.topic_commands import TopicCommands
from handlers import actions, commands, errors, events, middleware, shortcuts, views


def register(app: App, services: Services) -> None:
    emoji = " or ".join(f":{name}:" for name in services.settings.save_reactions)
    shelf = Shelf(
        tips=[
            f"React with {emoji} to any message to save its links to your shelf "
            "(or use *Save to shelf* in the message's ⋮ menu).",
            "Links shared in channels Peershelf is in are kept and tagged; "
            "those from private channels and DMs stay visible only to the people who were there.",
        ]
    )
    CaptureCommands(services).register(shelf)
    TopicCommands(services).register(shelf)
    RecommendCommands(services).register(shelf)
    ListCommands(services).register(shelf)
    DigestCommands(services).register(shelf)
    middleware.register(app, services)
    errors.register(app, services)
    commands.register(app, services, shelf)
    actions.register(app, services, shelf)
    views.register(app, services)
    events.register(app, services, shelf)
    shortcuts.register(app, services)
