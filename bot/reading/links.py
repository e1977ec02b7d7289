"""Links and ISBNs in Slack messages, and the canonical form of a URL items are deduplicated on."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from url_normalize import url_normalize

from bot.text import slack_unescape

# Slack wraps links as <url> or <url|label>; <@U…>, <#C…>, <!here> and <mailto:…> are not links.
_MARKUP = re.compile(r"<((?:https?)://[^|>\s]+)(?:\|([^>]*))?>", re.IGNORECASE)

# Query parameters that only say where a click came from. Removing them makes the same page one item.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "oly_", "hsa_", "_hs")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "vero_id",
        "vero_conv",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "si",  # YouTube and Spotify share ids
        "spm",
        "s_cid",
        "wt_mc",
        "cmpid",
        "sr_share",
    }
)


@dataclass(frozen=True)
class Link:
    url: str
    label: str | None = None


def links_in_text(text: str) -> list[Link]:
    """Links in Slack message text, in order, each once."""
    found = [
        Link(slack_unescape(url), slack_unescape(label) if label else None) for url, label in _MARKUP.findall(text)
    ]
    return _unique(found)


def links_in_blocks(blocks: Iterable[dict[str, Any]] | None) -> list[Link]:
    """`link` elements of rich_text blocks, however deeply nested (lists, quotes, sections)."""
    found = [
        Link(element["url"], element.get("text") or None)
        for element in _link_elements(blocks)
        if isinstance(element.get("url"), str) and urlsplit(element["url"]).scheme.lower() in ("http", "https")
    ]
    return _unique(found)


def _link_elements(blocks: Iterable[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    """Every `link` element of the rich_text blocks, in order, found lazily."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") == "link":
                yield node
            for value in node.values():
                if isinstance(value, list | dict):
                    yield from walk(value)
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)

    return walk([block for block in blocks or [] if isinstance(block, dict) and block.get("type") == "rich_text"])


def links_in_message(text: str, blocks: Iterable[dict[str, Any]] | None = None) -> list[Link]:
    """Every link of a message: rich_text blocks when present (they carry labels), then the text markup."""
    return _unique([*links_in_blocks(blocks), *links_in_text(text or "")])


def _unique(links: list[Link]) -> list[Link]:
    """Each address once, and only addresses Peershelf can keep (see `keepable`)."""
    seen: dict[str, Link] = {}
    for link in links:
        key = kept_form(link.url)
        if key is not None and key not in seen:
            seen[key] = link
    return list(seen.values())


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING or lowered.startswith(_TRACKING_PREFIXES)


MAX_URL = 2048  # characters of an address Peershelf keeps (as the database stores them)


def kept_form(url: str) -> str | None:
    """The canonical form Peershelf keeps an address under, or None when it cannot keep it: the
    address does not parse (a host such as http://[::1) or its canonical form exceeds MAX_URL."""
    try:
        canonical = canonical_url(url)
    except ValueError:
        return None
    return canonical if len(canonical) <= MAX_URL else None


def keepable(url: str) -> bool:
    return kept_form(url) is not None


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, dot segments and escapes normalised (url-normalize),
    then the fragment and tracking parameters removed; the other parameters keep their order."""
    normalized = url_normalize(url.strip()) or url.strip()
    parts = urlsplit(normalized)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    path = parts.path or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query, doseq=True), ""))


# ISBN-13 (978/979 prefix) or ISBN-10, with optional hyphens or spaces between digit groups.
_ISBN_CANDIDATE = re.compile(r"(?<![\dXx])(?:97[89][-\s]?)?(?:\d[-\s]?){9}[\dXx](?![\dXx])")


def isbn13(candidate: str) -> str | None:
    """The ISBN-13 of a checksum-valid ISBN-10 or ISBN-13, else None."""
    digits = re.sub(r"[-\s]", "", candidate).upper()
    if len(digits) == 13 and digits.isdigit() and digits.startswith(("978", "979")):
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
        return digits if (10 - total % 10) % 10 == int(digits[12]) else None
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        total = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
        if total % 11:
            return None
        body = "978" + digits[:9]
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
        return f"{body}{check}"
    return None


_ISBN_WORD = re.compile(r"isbn(?:-?1[03])?[:\s]*$", re.IGNORECASE)


_MAYBE = re.compile(r"https?://|www\.|(?:\d[-\s]?){9}[\dXx]", re.IGNORECASE)


def may_hold_links(text: str, blocks: Iterable[dict[str, Any]] | None = None) -> bool:
    """A quick first look, for Slack's ack: False only when the message surely has no link (in its
    text or rich text) and no ISBN. What it lets through is read properly later."""
    return bool(_MAYBE.search(text)) or next(_link_elements(blocks), None) is not None


def isbns_in_text(text: str) -> list[str]:
    """Checksum-valid ISBNs in free text, as ISBN-13, in order, each once. Links are not searched.

    A 978/979 thirteen-digit number counts anywhere; a ten-digit one only right after the word
    ISBN, since one random ten-digit number in eleven (a phone number, an order ID) passes the
    ISBN-10 checksum.
    """
    plain = _MARKUP.sub(" ", text)
    found: list[str] = []
    for match in _ISBN_CANDIDATE.finditer(plain):
        isbn = isbn13(match.group(0))
        ten_digits = len(re.sub(r"[-\s]", "", match.group(0))) == 10
        if isbn and (not ten_digits or _ISBN_WORD.search(plain[max(0, match.start() - 12) : match.start()])):
            found.append(isbn)
    return list(dict.fromkeys(found))


def _same_site(a: str, b: str) -> bool:
    host_a, host_b = (urlsplit(u).hostname or "" for u in (a, b))
    return host_a.removeprefix("www.") == host_b.removeprefix("www.")


def preferred_canonical(current: str, page_url: str, meta_canonical: str | None) -> str:
    """The canonical URL to record once a page is read: its own canonical/og:url, where believable.

    Only a canonical on the same site is believed, and not a bare home page for a deeper URL:
    a page may not claim to be some other site's page, and sites that point every article at
    their home page must not fold all their articles into one item.
    """
    if not current.startswith(("http://", "https://")):
        return current  # books keep their urn:isbn key
    candidate = canonical_url(meta_canonical or page_url)
    if not _same_site(candidate, page_url):
        return current
    if urlsplit(candidate).path in ("", "/") and urlsplit(current).path not in ("", "/"):
        return current
    return candidate
