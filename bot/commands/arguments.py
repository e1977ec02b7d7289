"""What `/shelf` arguments mean: #tags, mentions, and the replies an ITEM that is not one gets; shared
by every subcommand family. Links and ITEM itself are read in bot/services/items.py."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.commands.parser import Invocation, Reply, Token, UsageError
from bot.services.items import ItemNotFound, NotAnItem
from bot.text import echo


def as_tag(word: str) -> str | None:
    if word.startswith("#") and len(word) > 1 and re.fullmatch(r"#[^\W_][\w-]{0,39}", word):
        return word[1:].lower()
    return None


def split_tags(args: list[Token]) -> tuple[list[str], list[Token]]:
    """Leading and trailing #tags apart from the other words."""
    tags = [tag for token in args if not token.quoted and (tag := as_tag(token.text))]
    rest = [token for token in args if token.quoted or not as_tag(token.text)]
    return list(dict.fromkeys(tags)), rest


def not_found(word: str) -> Reply:
    return Reply(
        f"I can't find item `{echo(word, 40)}` among the things you can see. "
        "`/shelf mine` and `/shelf search` show item numbers."
    )


def guarded(run: Callable[[Invocation, list[Token]], Reply]) -> Callable[[Invocation, list[Token]], Reply]:
    """A subcommand whose unknown ITEM becomes a friendly reply, and whose ITEM that is neither a
    number nor a link becomes its usage line."""

    def answer(invocation: Invocation, args: list[Token]) -> Reply:
        try:
            return run(invocation, args)
        except ItemNotFound as missing:
            return not_found(str(missing))
        except NotAnItem as wrong:
            raise UsageError(wrong.problem) from None

    return answer


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def mentioned(token: Token) -> str | None:
    """The user ID of a Slack mention as it arrives in command text: <@U123> or <@U123|name>."""
    match = _MENTION.match(token.text)
    return match.group(1) if match and not token.quoted else None


def people_list(user_ids: list[str]) -> str:
    names = [f"<@{u}>" for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
