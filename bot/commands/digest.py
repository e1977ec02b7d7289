"""`/shelf digest` (preview) and its settings: on, off, day, time."""

from __future__ import annotations

import contextlib

from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.services import Services
from bot.services.digests.compose import preview
from bot.services.digests.slots import DAY_NAMES, preferences
from bot.services.lookups import NotAColleague, colleague
from bot.settings import WEEKDAYS, SettingsError, parse_hhmm, parse_weekday
from bot.slack import blocks
from bot.text import echo
from storage import people
from storage.models import Person


def describe(settings_day: int, settings_time: str, person: Person | None) -> str:
    state = "on" if person is None or person.digest_enabled else "off"
    where = f" ({person.tz})" if person and person.tz else ""
    return f"Your digest is {state}: {DAY_NAMES[settings_day]}s at {settings_time}{where}."


class DigestCommands:
    def __init__(self, services: Services) -> None:
        self.services = services

    def register(self, shelf: Shelf) -> None:
        shelf.add(
            Subcommand(
                "export",
                "/shelf export",
                "your saves, lists, follows and recommendations as a JSON file in a DM",
                self.export,
            )
        )
        shelf.add(
            Subcommand(
                "digest",
                "/shelf digest [on|off|day DAY|time HH:MM]",
                "your weekly digest",
                self.digest,
                help=(
                    ("/shelf digest", "preview your next weekly digest now"),
                    ("/shelf digest on|off|day fri|time 16:30", "digest settings (your own time zone)"),
                ),
            )
        )

    def _person(self, invocation: Invocation) -> Person:
        with contextlib.suppress(NotAColleague):  # users.info gives the time zone the digest is scheduled in
            colleague(self.services, invocation.client, invocation.team_id, invocation.user_id)
        with self.services.new_session() as session:
            found = people.get_person(session=session, team_id=invocation.team_id, user_id=invocation.user_id)
            if found is None:
                found = people.remember_person(
                    session=session,
                    team_id=invocation.team_id,
                    user_id=invocation.user_id,
                    name=None,
                    is_bot=False,
                    tz=None,
                    now=self.services.clock(),
                )
            return found

    def digest(self, invocation: Invocation, args: list[Token]) -> Reply:
        if not args:
            return self._preview(invocation)
        action, rest = args[0].text.lower(), args[1:]
        person = self._person(invocation)
        change: dict[str, object] = {}
        if action in ("on", "off") and not rest:
            change["enabled"] = action == "on"
        elif action == "day" and len(rest) == 1:
            try:
                change["day"] = parse_weekday("day", rest[0].text)
            except SettingsError:
                return Reply(f"`{echo(rest[0].text, 20)}` isn't a day. Use one of {', '.join(WEEKDAYS)}.")
        elif action == "time" and len(rest) == 1:
            try:
                at = parse_hhmm("time", rest[0].text)
            except SettingsError:
                return Reply(f"`{echo(rest[0].text, 20)}` isn't a time. Use 24-hour HH:MM, like `16:30`.")
            change["at"] = f"{at.hour:02d}:{at.minute:02d}"
        else:
            raise UsageError()
        with self.services.new_session() as session:
            stored = people.get_person(session=session, team_id=person.team_id, user_id=person.user_id) or person
            people.set_digest(session=session, person=stored, **change)  # type: ignore[arg-type]
            day, at_time = preferences(self.services.settings, stored.digest_day, stored.digest_time)
            return Reply(describe(day, f"{at_time.hour:02d}:{at_time.minute:02d}", stored))

    def export(self, invocation: Invocation, args: list[Token]) -> Reply:
        if args:
            raise UsageError()
        return Reply("Putting your data together; it arrives as a JSON file in a DM from Peershelf.", export=True)

    def _preview(self, invocation: Invocation) -> Reply:
        shown = preview(self.services, team_id=invocation.team_id, user_id=invocation.user_id)
        if shown is None:
            return Reply(
                "Your next digest is empty so far. Set `/shelf interests`, `/shelf follow` colleagues or "
                "`/shelf subscribe` to lists, and it fills up."
            )
        text, digest_blocks = shown
        return Reply(
            text, [blocks.context("A preview of your next digest:"), *digest_blocks[: blocks.MAX_BLOCKS_MESSAGE - 1]]
        )
