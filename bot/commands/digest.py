"""`/shelf digest` (preview) and its settings: on, off, day, time."""

from __future__ import annotations

from bot.commands.parser import Invocation, Later, Reply, Shelf, Subcommand, Token, UsageError
from bot.services import Services
from bot.services.digests.compose import preview
from bot.services.digests.slots import DigestSettings, change_preferences
from bot.settings import WEEKDAYS, SettingsError, parse_weekday
from bot.slack import blocks
from bot.slack.home import DAY_NAMES
from bot.text import echo

PREPARING = "Putting together a preview of your next digest…"


def preview_reply(services: Services, *, team_id: str, user_id: str) -> Reply:
    """The person's next digest as it stands now, as the answer to `/shelf digest`."""
    shown = preview(services, team_id=team_id, user_id=user_id)
    if shown is None:
        return Reply(
            "Your next digest is empty so far. Set `/shelf interests`, `/shelf follow` colleagues or "
            "`/shelf subscribe` to lists, and it fills up."
        )
    text, digest_blocks = shown
    return Reply(
        text, [blocks.context("A preview of your next digest:"), *digest_blocks[: blocks.MAX_BLOCKS_MESSAGE - 1]]
    )


def describe(digest: DigestSettings) -> str:
    state = "on" if digest.enabled else "off"
    where = f" ({digest.tz})" if digest.tz else ""
    return f"Your digest is {state}: {DAY_NAMES[digest.day]}s at {digest.at.hour:02d}:{digest.at.minute:02d}{where}."


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
                "forget",
                "/shelf forget me",
                "delete your saves, notes, lists, follows, interests and settings (asks first)",
                self.forget,
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

    def digest(self, invocation: Invocation, args: list[Token]) -> Reply:
        if not args:
            return self._preview(invocation)
        action, rest = args[0].text.lower(), args[1:]
        change: dict[str, object] = {}
        if action in ("on", "off") and not rest:
            change["enabled"] = action == "on"
        elif action == "day" and len(rest) == 1:
            try:
                change["day"] = parse_weekday("day", rest[0].text)
            except SettingsError:
                return Reply(f"`{echo(rest[0].text, 20)}` isn't a day. Use one of {', '.join(WEEKDAYS)}.")
        elif action == "time" and len(rest) == 1:
            change["at"] = rest[0].text
        else:
            raise UsageError()
        digest = change_preferences(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            **change,  # type: ignore[arg-type]
        )
        if digest is None:  # change_preferences refuses a time that is not HH:MM, and changes nothing
            return Reply(f"`{echo(rest[0].text, 20)}` isn't a time. Use 24-hour HH:MM, like `16:30`.")
        # Slack is asked for the person's time zone after it has its answer, if not known yet.
        look_up = () if digest.profile_known else (invocation.user_id,)
        return Reply(describe(digest), later=Later(look_up=look_up))

    def export(self, invocation: Invocation, args: list[Token]) -> Reply:
        if args:
            raise UsageError()
        return Reply(
            "Putting your data together; it arrives as a JSON file in a DM from Peershelf.", later=Later(export=True)
        )

    def forget(self, invocation: Invocation, args: list[Token]) -> Reply:
        if [token.text.lower() for token in args] != ["me"] or args[0].quoted:
            raise UsageError("Say `/shelf forget me` to delete your data.")
        text = (
            "*Forget you?* This deletes your saves and notes, your lists (and their subscribers' copies), "
            "what you follow and subscribe to, your interests, digest settings and the recommendations you sent "
            "and got. Links you shared in public channels stay for your colleagues, without your name. "
            "There is no undo: `/shelf export` first if you want a copy."
        )
        return Reply(text, blocks.confirm_forget(text))

    def _preview(self, invocation: Invocation) -> Reply:
        # Picks read the whole workspace: in a large one that takes longer than Slack waits for an
        # answer, so the preview is built after it and shown in its place.
        return Reply(PREPARING, later=Later(preview=True))
