"""Bytes of a web page to text: the charset the server names, then the one the page declares,
then UTF-8, and only then a guess (bs4's UnicodeDammit, imported when a guess is needed)."""

from __future__ import annotations

import codecs
import re

_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def decode_html(body: bytes, charset: str | None = None) -> str:
    declared = _DECLARED.search(body[:4096])
    for name in (charset, declared.group(1).decode("ascii", "replace") if declared else None, "utf-8"):
        codec = _codec(name)
        if codec is None:
            continue
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    from bs4 import UnicodeDammit

    return UnicodeDammit(body, is_html=True).unicode_markup or ""
