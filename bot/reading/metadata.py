"""Page metadata from HTML: title, description, author, site, dates, image, language, duration, ISBN.

Sources in order of trust: JSON-LD, Open Graph, Twitter cards, then `<title>` and plain meta
tags. For each field the first source that has a value wins.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from bs4 import BeautifulSoup, SoupStrainer, Tag

from bot.reading.fetcher import Page
from bot.reading.links import isbn13

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "techarticle",
    "scholarlyarticle",
    "report",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "webpage",
    "videoobject",
    "book",
    "podcastepisode",
    "course",
    "softwaresourcecode",
    "creativework",
    "socialmediaposting",
    "liveblogposting",
}


@dataclass
class Metadata:
    title: str | None = None
    description: str | None = None
    author: str | None = None
    site_name: str | None = None
    published_at: datetime | None = None
    image: str | None = None
    language: str | None = None
    duration_seconds: int | None = None
    isbn: str | None = None
    canonical_url: str | None = None
    types: list[str] = field(default_factory=list)  # og:type and JSON-LD @type values, lower-cased
    title_from_title_tag: bool = False  # the weakest source; oEmbed may replace it
    keywords: list[str] = field(default_factory=list)


def _clean(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if _clean(v)), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if not isinstance(value, str | int | float):
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None


def _first(*values: Any) -> str | None:
    for value in values:
        cleaned = _clean(value)
        if cleaned:
            return cleaned
    return None


_DURATION = re.compile(r"^P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$", re.IGNORECASE)


def parse_duration(value: Any) -> int | None:
    """Seconds from ISO 8601 (`PT1H2M3S`) or a plain number of seconds."""
    text = _clean(value)
    if not text:
        return None
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return int(days * 86400 + hours * 3600 + minutes * 60 + seconds)


def parse_date(value: Any) -> datetime | None:
    text = _clean(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_ld(soup: BeautifulSoup) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def collect(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                collect(child)
        elif isinstance(node, dict):
            if "@graph" in node:
                collect(node["@graph"])
            if "@type" in node:
                found.append(node)

    for script in soup.find_all("script", type=re.compile(r"ld\+json", re.IGNORECASE)):
        try:
            collect(json.loads(script.string or script.get_text() or ""))
        except ValueError:
            continue
    return found


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("@type")
    return [str(t).lower() for t in (value if isinstance(value, list) else [value]) if t]


_BY = re.compile(r"^(by|par|von|por|di|door)\s+", re.IGNORECASE)


def _author(value: Any) -> str | None:
    """A person's name: not a profile URL or a @handle, without a leading "By"."""
    if isinstance(value, list):
        names = [_author(v) for v in value]
        joined = ", ".join(n for n in names if n)
        return joined or None
    if isinstance(value, dict):
        return _author(value.get("name"))
    text = _clean(value)
    if text is None or text.startswith(("http://", "https://", "@")):
        return None
    return _BY.sub("", text) or None


def _parsely(value: str | None) -> dict[str, Any]:
    """Parse.ly's page metadata, a JSON object in one meta tag."""
    try:
        loaded = json.loads(value) if value else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEAD_TAGS = SoupStrainer(["meta", "title", "link", "script"])
_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)", re.IGNORECASE)


class _Meta:
    """Meta tags by lower-cased `property` or `name`; the first occurrence wins."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.values: dict[str, str] = {}
        self.every: dict[str, list[str]] = {}
        for tag in soup.find_all("meta"):
            key = tag.get("property") or tag.get("name") or tag.get("itemprop")
            content = tag.get("content")
            if isinstance(key, str) and isinstance(content, str) and content.strip():
                self.values.setdefault(key.strip().lower(), content.strip())
                self.every.setdefault(key.strip().lower(), []).append(content.strip())

    def __getitem__(self, key: str) -> str | None:
        return self.values.get(key)

    def all(self, key: str) -> list[str]:
        """Every value of a tag that may repeat (article:tag, video:tag, book:tag)."""
        return self.every.get(key, [])


MAX_KEYWORDS = 30
_TAG_KEYS = ("keywords", "news_keywords", "article:tag", "video:tag", "og:video:tag", "book:tag")
_YOUTUBE_KEYWORDS = re.compile(r'"keywords"\s*:\s*(\[[^\]]{0,4000}\])')


def _names(value: Any) -> list[str]:
    """Words a JSON-LD property gives: a comma-separated string, a list, or things with a name."""
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list):
        return [name for child in value[:MAX_KEYWORDS] for name in _names(child)]
    if isinstance(value, dict):
        return _names(value.get("name"))
    return []


def _keywords(main: dict[str, Any], nodes: list[dict[str, Any]], meta: _Meta, html: str) -> list[str]:
    """What a page says it is about, for the tagger: keywords and tags (meta and JSON-LD), JSON-LD
    `about`, `genre` and `articleSection` (a book's subjects, a video's category), video tags."""
    found: list[Any] = []
    for node in (main, *(n for n in nodes if n is not main and set(_types(n)) & {"book", "videoobject", "course"})):
        for key in ("keywords", "about", "genre", "articleSection"):
            found += _names(node.get(key))
    for key in _TAG_KEYS:
        for value in meta.all(key):
            found += value.split(",")
    youtube = _YOUTUBE_KEYWORDS.search(html)
    if youtube:
        with contextlib.suppress(ValueError):  # a cut-off list is no keywords
            found += [k for k in json.loads(youtube.group(1)) if isinstance(k, str)]
    cleaned = (_clean(k) for k in found)
    return list(dict.fromkeys(k for k in cleaned if k and len(k) <= 80))[:MAX_KEYWORDS]


def extract(html: str, url: str | None = None) -> Metadata:
    """Everything Peershelf records about a page, from its HTML alone."""
    # Only the tags metadata lives in are built into a tree: several times faster than the whole page.
    soup = BeautifulSoup(html, "lxml", parse_only=_HEAD_TAGS)
    meta = _Meta(soup)
    nodes = _json_ld(soup)
    main = next((n for n in nodes if set(_types(n)) & _ARTICLE_TYPES - {"webpage"}), None) or next(
        (n for n in nodes if set(_types(n)) & _ARTICLE_TYPES), {}
    )
    publisher: dict[str, Any] = main["publisher"] if isinstance(main.get("publisher"), dict) else {}
    title_tag = soup.find("title")
    # The <html> tag opens the page; IE conditional comments may hold decoy copies of it.
    html_lang = _HTML_LANG.search(_COMMENT.sub("", html[:20_000]))

    result = Metadata()
    result.title = _first(
        meta["og:title"],
        main.get("headline"),
        main.get("name"),
        meta["twitter:title"],
        title_tag and title_tag.get_text(),
    )
    page_title = _first(title_tag and title_tag.get_text())
    result.title_from_title_tag = (
        result.title is not None
        and result.title == page_title
        and not _first(meta["og:title"], main.get("headline"), main.get("name"), meta["twitter:title"])
    )
    result.description = _first(
        main.get("description"), meta["og:description"], meta["twitter:description"], meta["description"]
    )
    result.author = (
        _author(main.get("author"))
        or _author(meta["author"])
        or _author(meta["article:author"])
        or _author(meta["dc.creator"])
        or _author(meta["parsely-author"])
        or _author(_parsely(meta["parsely-page"]).get("author"))
        or _author(meta["sailthru.author"])
        or _author(meta["byl"])
        or _author(main.get("creator"))
    )
    result.site_name = _first(meta["og:site_name"], publisher.get("name"), meta["application-name"])
    result.published_at = (
        parse_date(main.get("datePublished"))
        or parse_date(meta["article:published_time"])
        or parse_date(meta["date"])
        or parse_date(meta["dc.date"])
        or parse_date(meta["parsely-pub-date"])
    )
    image = _first(
        main.get("image") if not isinstance(main.get("image"), dict) else main["image"].get("url"),
        meta["og:image"],
        meta["twitter:image"],
    )
    result.image = urljoin(url, image) if image and url else image
    language = _first(main.get("inLanguage"), html_lang.group(1) if html_lang else None, meta["og:locale"])
    result.language = language.replace("_", "-").split("-")[0].lower() if language else None
    result.duration_seconds = (
        parse_duration(main.get("duration")) or parse_duration(meta["video:duration"]) or _youtube_duration(html)
    )
    isbn = _first(main.get("isbn"), meta["books:isbn"], meta["book:isbn"])
    result.isbn = isbn13(isbn) if isbn else None
    canonical = soup.find("link", rel="canonical")
    href = canonical.get("href") if isinstance(canonical, Tag) else None
    result.canonical_url = _first(href, meta["og:url"])
    if result.canonical_url and url:
        result.canonical_url = urljoin(url, result.canonical_url)
    result.types = [*([meta["og:type"].lower()] if meta["og:type"] else []), *(t for n in nodes for t in _types(n))]
    result.keywords = _keywords(main, nodes, meta, html)
    return result


_YOUTUBE_LENGTH = re.compile(r'"lengthSeconds"\s*:\s*"(\d+)"')


def _youtube_duration(html: str) -> int | None:
    """YouTube's player data (ytInitialPlayerResponse) carries the length in seconds."""
    match = _YOUTUBE_LENGTH.search(html)
    return int(match.group(1)) if match else None


def oembed_endpoint(url: str) -> str | None:
    """The oEmbed address for YouTube and Vimeo links, which name a video's title and channel reliably."""
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(("youtube.com", "youtu.be")):
        return f"https://www.youtube.com/oembed?format=json&url={quote(url, safe='')}"
    if host.endswith("vimeo.com"):
        return f"https://vimeo.com/api/oembed.json?url={quote(url, safe='')}"
    return None


def merge_oembed(meta: Metadata, document: dict[str, Any]) -> Metadata:
    """oEmbed ranks after JSON-LD, Open Graph and Twitter cards, before `<title>` and meta tags."""
    title = _clean(document.get("title"))
    if title and (meta.title is None or meta.title_from_title_tag):
        meta.title, meta.title_from_title_tag = title, False
    meta.author = meta.author or _clean(document.get("author_name"))
    meta.site_name = meta.site_name or _clean(document.get("provider_name"))
    thumbnail = _clean(document.get("thumbnail_url"))
    meta.image = meta.image or thumbnail
    meta.duration_seconds = meta.duration_seconds or parse_duration(document.get("duration"))
    if document.get("type") == "video" and "video" not in meta.types:
        meta.types.append("video")
    return meta


def page_metadata(page: Page) -> Metadata:
    """What a fetched page says about itself; a PDF or video file is named by its file name."""
    if page.is_html:
        return extract(page.text(), page.url)
    return Metadata(title=urlsplit(page.url).path.rsplit("/", 1)[-1] or None)
