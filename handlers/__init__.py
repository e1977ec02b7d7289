"""Thin Slack listeners, one module per surface; `register` wires them onto a Bolt app."""

from __future__ import annotations

from slack_bolt import App

from bot.commands import build_shelf
from bot.services import Services
from handlers import actions, commands, errors, events, middleware, shortcuts, views


def register(app: App, services: Services) -> None:
    shelf = build_shelf(services)
    middleware.register(app, services)
    errors.register(app, services)
    commands.register(app, services, shelf)
    actions.register(app, services, shelf)
    views.register(app, services)
    events.register(app, services, shelf)
    shortcuts.register(app, services)
