"""Fields pulled out of Slack's payloads the same way by every listener."""

from __future__ import annotations

from typing import Any

from bot.services.messages import text_of

__all__ = ["number_in", "text_of", "user_of"]


def user_of(body: dict[str, Any]) -> str:
    """Who pressed, submitted or used a shortcut: interactivity payloads name them in `user`."""
    return str((body.get("user") or {}).get("id") or "")


def number_in(value: object) -> int:
    """The number a button's value or our own metadata carries; 0, which names nothing, when it
    carries none (or one too large to be an id)."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 19 else 0
