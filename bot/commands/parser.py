"""The `/shelf` slash command: a small parser with one function per subcommand.

Subcommands are registered on a `Shelf`; each gets the invocation and its arguments as tokens
and returns a `Reply`. Malformed input raises `UsageError`, which becomes that subcommand's usage
line. Nothing here knows Slack's payload shapes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.slack import blocks
from bot.text import echo, slack_unescape

# Slack clients and phones turn straight quotes into typographic ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


class Token(NamedTuple):
    text: str
    quoted: bool


class UnbalancedQuotes(ValueError):
    pass


def tokenize(text: str) -> list[Token]:
    """Split command text into words, keeping "quoted phrases" together."""
    text = slack_unescape(text).translate(_QUOTES)
    if text.count('"') % 2:
        raise UnbalancedQuotes(text)
    return [
        Token(quoted, True) if bare is None or bare == "" else Token(bare, False)
        for quoted, bare in _TOKEN.findall(text)
    ]


@dataclass(frozen=True)
class Invocation:
    """Who ran `/shelf`, where, with what text."""

    team_id: str
    user_id: str
    channel_id: str
    text: str


@dataclass(frozen=True)
class Later:
    """What a reply leaves for after Slack has its answer: everything that talks to Slack. Plain
    values only, as Bolt copies them to the lazy listener that does the work (`commands.later`)."""

    deliver: tuple[int, ...] = ()  # recommendations to DM, once their recipients are checked
    follows: tuple[str, ...] = ()  # people just followed, to check they are colleagues
    look_up: tuple[str, ...] = ()  # people whose profile (time zone) to refresh
    export: bool = False  # upload the person's data export
    preview: bool = False  # build the person's digest preview and show it in place of the answer

    def __bool__(self) -> bool:
        return bool(self.deliver or self.follows or self.look_up or self.export or self.preview)


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] | None = None
    later: Later = Later()


class UsageError(ValueError):
    """The arguments do not fit the subcommand; `problem` says what is wrong, in the user's terms."""

    def __init__(self, problem: str = "") -> None:
        super().__init__(problem)
        self.problem = problem


Runner = Callable[[Invocation, list[Token]], Reply]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str  # e.g. '/shelf save URL [#tag …] [note]'
    summary: str
    run: Runner
    aliases: tuple[str, ...] = ()
    help: tuple[tuple[str, str], ...] = ()  # (usage, summary) lines for help, when one is not enough


@dataclass
class Shelf:
    """The registry of subcommands and the dispatcher in front of them."""

    subcommands: dict[str, Subcommand] = field(default_factory=dict)
    tips: list[str] = field(default_factory=list)  # things to know that are not subcommands

    def __post_init__(self) -> None:
        self.add(Subcommand("help", "/shelf help", "what Peershelf is and every subcommand", self._help))

    def add(self, subcommand: Subcommand) -> None:
        for name in (subcommand.name, *subcommand.aliases):
            self.subcommands[name] = subcommand

    def listed(self) -> list[Subcommand]:
        """Each subcommand once, in the order it was added."""
        return list(dict.fromkeys(self.subcommands.values()))

    def entries(self) -> list[tuple[str, str]]:
        """Every (usage, summary) line for help and the Home tab."""
        return [line for sub in self.listed() for line in (sub.help or ((sub.usage, sub.summary),))]

    def handle(self, invocation: Invocation) -> Reply:
        try:
            words = tokenize(invocation.text)
        except UnbalancedQuotes:
            return Reply(
                f"A quote is missing its partner in `/shelf {echo(invocation.text)}`. "
                'Put names in straight double quotes, like `"Reading list"`.'
            )
        if not words:
            return self._help(invocation, [])
        name, args = words[0].text.lower(), words[1:]
        subcommand = self.subcommands.get(name)
        if subcommand is None:
            return self._unknown(words[0].text)
        try:
            return subcommand.run(invocation, args)
        except UsageError as error:
            problem = f"{error.problem} " if error.problem else ""
            return Reply(f"{problem}Usage: `{subcommand.usage}` — {subcommand.summary}.")

    def _unknown(self, name: str) -> Reply:
        close = difflib.get_close_matches(name.lower(), list(self.subcommands), n=1, cutoff=0.6)
        hint = f" Did you mean `/shelf {close[0]}`?" if close else ""
        return Reply(f"I don't know `/shelf {echo(name, 30)}`.{hint} Type `/shelf help` to see everything I can do.")

    def _help(self, invocation: Invocation, args: list[Token]) -> Reply:
        entries = self.entries()
        return Reply(blocks.help_text(entries, self.tips), blocks.help_blocks(entries, self.tips))
