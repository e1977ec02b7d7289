"""Slack text helpers: Slack escapes `&`, `<` and `>` in what it sends, and we must in what we echo."""

from __future__ import annotations

_UNESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def slack_unescape(text: str) -> str:
    for escaped, plain in _UNESCAPES:
        text = text.replace(escaped, plain)
    return text


def slack_escape(text: str) -> str:
    """Make `text` show literally: no mentions, links or channel pings can be smuggled in."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def counted(n: int, noun: str) -> str:
    """`1 save`, `3 saves`: a count with its noun (nouns whose plural takes just an s)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def echo(text: str, limit: int = 60) -> str:
    """What a person typed, safe to put inside a `code` span of a reply."""
    return slack_escape(clip(slack_unescape(text).replace("`", "'").replace("\n", " "), limit))
