"""The `/shelf` slash command: a small parser (`parser`) and one module per family of subcommands."""

from __future__ import annotations

from bot.commands.digest import DigestCommands
from bot.commands.lists import ListCommands
from bot.commands.parser import Shelf
from bot.commands.recommend import RecommendCommands
from bot.commands.roundups import RoundupCommands
from bot.commands.shelf import CaptureCommands
from bot.commands.topics import TopicCommands
from bot.services import Services


def build_shelf(services: Services) -> Shelf:
    """Every `/shelf` subcommand, in the order help lists them, with the tips help adds."""
    emoji = " or ".join(f":{name}:" for name in services.settings.save_reactions)
    shelf = Shelf(
        tips=[
            f"React with {emoji} to any message to save its links to your shelf "
            "(or use *Save to shelf* in the message's ⋮ menu).",
            "Links shared in channels Peershelf is in are kept and tagged; "
            "those from private channels and DMs stay visible only to the people who were there.",
        ]
    )
    for family in (CaptureCommands, TopicCommands, RecommendCommands, ListCommands, DigestCommands, RoundupCommands):
        family(services).register(shelf)
    return shelf
