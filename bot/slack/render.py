"""Block Kit as readable text: for `peershelf digest run --dry-run` and the demo."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.text import slack_unescape

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE = re.compile(r"<(https?://[^>|]+)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")


def mrkdwn(text: str, name_of: Callable[[str], str] = lambda user: user) -> str:
    """Slack markup as plain text: links as `label (url)`, people as @name."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE.sub(lambda m: m.group(1), text)
    text = _USER.sub(lambda m: "@" + name_of(m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    return slack_unescape(text.replace("*", "").replace("`", ""))


def blocks_to_text(blocks: list[dict[str, Any]], name_of: Callable[[str], str] = lambda user: user) -> str:
    """One block after another, buttons shown as [Label]."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * len(title)]
        elif kind == "section":
            lines.append(mrkdwn(block["text"]["text"], name_of))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                lines[-1] += f"  [{accessory['text']['text']}]"
        elif kind == "context":
            lines.append("  " + " ".join(mrkdwn(e.get("text", ""), name_of) for e in block.get("elements", [])))
        elif kind == "actions":
            labels = [
                e.get("text", {}).get("text", "") or e.get("placeholder", {}).get("text", "")
                for e in block.get("elements", [])
            ]
            lines.append("  " + " ".join(f"[{label}]" for label in labels if label))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "input":
            lines.append(f"{block['label']['text']}: ____")
    return "\n".join(lines)
