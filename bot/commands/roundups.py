"""`/shelf roundup on [day]` / `off`: a channel's weekly look back at what was shared there."""

from __future__ import annotations

from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.services import Services, roundups
from bot.services.roundups import DEFAULT_DAY
from bot.settings import WEEKDAYS, SettingsError, parse_weekday
from bot.slack.home import DAY_NAMES
from bot.text import echo


class RoundupCommands:
    def __init__(self, services: Services) -> None:
        self.services = services

    def register(self, shelf: Shelf) -> None:
        shelf.add(
            Subcommand(
                "roundup",
                "/shelf roundup on [day] | off",
                "in a channel: a weekly post of what was shared and saved most there",
                self.roundup,
            )
        )

    def roundup(self, invocation: Invocation, args: list[Token]) -> Reply:
        words = [token.text.lower() for token in args]
        if not words or words[0] not in ("on", "off") or len(words) > 2 or (words[0] == "off" and len(words) > 1):
            raise UsageError()
        if not invocation.channel_id.startswith(("C", "G")):
            return Reply("Roundups are for channels: type this in the channel that should get one.")
        where = f"<#{invocation.channel_id}>"
        if words[0] == "off":
            stopped = roundups.turn_off(self.services, team_id=invocation.team_id, channel_id=invocation.channel_id)
            return Reply(f"No more weekly roundups in {where}." if stopped else f"{where} has no weekly roundup.")
        day = DEFAULT_DAY
        if len(words) == 2:
            try:
                day = parse_weekday("day", words[1])
            except SettingsError:
                return Reply(f"`{echo(args[1].text, 20)}` isn't a day. Use one of {', '.join(WEEKDAYS)}.")
        tz = roundups.turn_on(
            self.services,
            team_id=invocation.team_id,
            channel_id=invocation.channel_id,
            user_id=invocation.user_id,
            weekday=day,
        )
        at = f"{self.services.settings.digest_time:%H:%M}"
        zone = f" ({tz})" if tz else " (UTC)"
        return Reply(
            f"Weekly roundup on: every {DAY_NAMES[day]} at {at}{zone}, Peershelf posts in {where} what was shared "
            "and saved most here that week (nothing when nothing was). `/shelf roundup off` stops it."
        )
