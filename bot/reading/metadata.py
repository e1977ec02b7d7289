"""Page metadata from HTML: title, description, author, site, dates, image, language, duration, ISBN.

Sources in order of trust: JSON-LD, Open Graph, Twitter cards, then `<title>` and plain meta
tags. For each field the first source that has a value wins.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html

from bot.reading.links import isbn13

if TYPE_CHECKING:
    from bot.reading.fetcher import Page

logger = logging.getLogger(__name__)


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
    """ISO 8601 (`2026-03-04`, `2026-03-04T05:06:07+02:00`, `…Z`) or RFC 2822 (`Tue, 22 Dec 2016
    10:00:00 GMT`); a date without a zone is taken as UTC."""
    text = _clean(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if not 1990 <= parsed.year <= 2100:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|$|[-_])")


def _date_in_url(url: str | None) -> datetime | None:
    """`/2019/05/12/` or `/2019-05-12-` in a page's address."""
    match = _URL_DATE.search(urlsplit(url).path) if url else None
    if not match:
        return None
    try:
        return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=UTC)
    except ValueError:
        return None


def _json_ld(page: _Page) -> list[dict[str, Any]]:
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

    for text in page.json_ld:
        try:
            collect(json.loads(_LD_WRAPPERS.sub("", text)))
        except (ValueError, RecursionError):  # not JSON, or nested beyond reason
            continue
    return found


_LD_WRAPPERS = re.compile(r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?://\s*)?(?:\]\]>|-->)\s*$")


def _resolve(value: Any, by_id: dict[str, dict[str, Any]]) -> Any:
    """A JSON-LD reference ({"@id": …} alone) replaced by the node of the graph it names."""
    if isinstance(value, list):
        return [_resolve(v, by_id) for v in value]
    if isinstance(value, dict) and set(value) == {"@id"}:
        return by_id.get(str(value["@id"]), value)
    return value


# The node a page is about: an article first, then other works (a video, a book, a course), then the page.
_MAIN_TIERS = (
    {"article", "newsarticle", "blogposting", "techarticle", "scholarlyarticle", "report", "reportagenewsarticle",
     "analysisnewsarticle", "opinionnewsarticle", "socialmediaposting", "liveblogposting"},
    {"videoobject", "book", "podcastepisode", "course", "softwaresourcecode", "creativework"},
    {"webpage"},
)  # fmt: skip


def _main_node(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    for tier in _MAIN_TIERS:
        for node in nodes:
            if set(_types(node)) & tier:
                return node
    return {}


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
# Control characters (NUL above all) are dropped before parsing: they carry nothing, and a page of
# them makes the parser build a tree far larger than the text.
_CONTROL_CHARACTERS = tuple(chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))
_CONTROLS = re.compile(f"[{re.escape(''.join(_CONTROL_CHARACTERS))}]+")
_PARSER = lxml_html.HTMLParser(recover=True, no_network=True, remove_comments=True, remove_pis=True)


PARSE_LIMIT = 384_000  # characters of a page built into a tree (about 20 MB at most, however dense)
MAX_JSON_LD = 200_000  # characters of one JSON-LD script
MAX_JSON_LD_SCRIPTS = 20
_LD_SCRIPT = re.compile(
    r"<script\b[^>]*?\btype\s*=\s*[\"']?application/ld\+json[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)


class _Page:
    """The parts of a parsed page metadata lives in (lxml builds the tree in C, quickly)."""

    def __init__(self, text: str) -> None:
        self.metas: list[tuple[str, str]] = []
        self.title: str | None = None
        self.json_ld: list[str] = []
        self.canonical: str | None = None
        self.image_src: str | None = None  # <link rel="image_src">, the image a page names for sharing
        self.base: str | None = None
        self.root: Any = None  # the whole tree, for what the head does not say
        if any(c in text for c in _CONTROL_CHARACTERS):  # looking is cheaper than rewriting a clean page
            text = _CONTROLS.sub("", text)
        if "ld+json" in text or "LD+JSON" in text or "Ld+Json" in text:  # the regex only where it can match
            self.json_ld = [m.group(1)[:MAX_JSON_LD] for m in _LD_SCRIPT.finditer(text)][:MAX_JSON_LD_SCRIPTS]
        if len(text) > PARSE_LIMIT:
            # A long page's head is often mostly code: without it, the part built into a tree
            # reaches the byline and date of the body.
            text = _without_code(text)
        try:
            # A tree costs about half a kilobyte an element: the head and the start of the body are
            # where metadata lives, and a page of a million tags must not cost a gigabyte.
            root = lxml_html.document_fromstring(text[:PARSE_LIMIT], parser=_PARSER)
        except (etree.ParserError, ValueError):  # nothing that parses as a document
            return
        self.root = root
        for element in root.iter("meta", "title", "link", "base"):
            tag = element.tag
            if tag == "meta":
                key = element.get("property") or element.get("name") or element.get("itemprop")
                content = element.get("content")
                if key and content and content.strip():
                    self.metas.append((key.strip().lower(), content.strip()))
            elif tag == "title":
                if self.title is None and not _in_svg(element):
                    self.title = element.text_content()
            elif tag == "link":
                rel = (element.get("rel") or "").lower().split()
                if self.canonical is None and "canonical" in rel:
                    self.canonical = element.get("href")
                elif self.image_src is None and "image_src" in rel:
                    self.image_src = element.get("href")
            elif self.base is None and element.get("href"):
                self.base = element.get("href")


_CODE_TAG = re.compile(r"<(/?)(script|style)\b", re.IGNORECASE)


def _without_code(text: str) -> str:
    """The page without its scripts and style sheets (JSON-LD is read before), in one pass."""
    kept: list[str] = []
    at, inside = 0, ""
    for tag in _CODE_TAG.finditer(text):
        closing, name = tag.group(1), tag.group(2).lower()
        if not inside and not closing:
            kept.append(text[at : tag.start()])
            inside = name
        elif inside == name and closing:
            end = text.find(">", tag.end(), tag.end() + 100)
            at, inside = (end + 1 if end >= 0 else tag.end()), ""
    if not inside:
        kept.append(text[at:])
    return "".join(kept)


def _in_svg(element: Any) -> bool:
    return any(parent.tag == "svg" for parent in element.iterancestors())


_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)", re.IGNORECASE)


class _Meta:
    """Meta tags by lower-cased `property` or `name`; the first occurrence wins."""

    def __init__(self, page: _Page) -> None:
        self.values: dict[str, str] = {}
        self.every: dict[str, list[str]] = {}
        for key, content in page.metas:
            self.values.setdefault(key, content)
            self.every.setdefault(key, []).append(content)

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
    youtube = _YOUTUBE_KEYWORDS.search(html) if "ytInitial" in html else None
    if youtube:
        with contextlib.suppress(ValueError):  # a cut-off list is no keywords
            found += [k for k in json.loads(youtube.group(1)) if isinstance(k, str)]
    cleaned = (_clean(k) for k in found)
    return list(dict.fromkeys(k for k in cleaned if k and len(k) <= 80))[:MAX_KEYWORDS]


def extract(html: str, url: str | None = None) -> Metadata:
    """Everything Peershelf records about a page, from its HTML alone."""
    page = _Page(html)
    meta = _Meta(page)
    nodes = _json_ld(page)
    by_id = {str(n["@id"]): n for n in nodes if isinstance(n.get("@id"), str)}
    main = {key: _resolve(value, by_id) for key, value in _main_node(nodes).items()}
    publisher: dict[str, Any] = main["publisher"] if isinstance(main.get("publisher"), dict) else {}
    base = urljoin(url, page.base) if url and page.base else url
    # The <html> tag opens the page; IE conditional comments may hold decoy copies of it.
    html_lang = _HTML_LANG.search(_COMMENT.sub("", html[:20_000]))

    result = Metadata()
    page_title = _first(page.title)
    named = _ld_title(main, page_title)
    result.title = _first(meta["og:title"], named, meta["twitter:title"], page_title)
    result.title_from_title_tag = (
        result.title is not None
        and result.title == page_title
        and not _first(meta["og:title"], named, meta["twitter:title"])
    )
    result.description = _first(
        main.get("description"), meta["og:description"], meta["twitter:description"], meta["description"]
    ) or _first_paragraph(page.root)
    result.author = (
        _author(main.get("author"))
        or _author(meta["author"])
        or _author(meta["article:author"])
        or _author(meta["og:article:author"])
        or _author(meta["dc.creator"])
        or _author(meta["parsely-author"])
        or _author(_parsely(meta["parsely-page"]).get("author"))
        or _author(meta["sailthru.author"])
        or _author(meta["byl"])
        or _author(main.get("creator"))
        or _author(meta["citation_author"])
        or _body_author(page.root)
    )
    result.site_name = (
        _first(meta["og:site_name"], publisher.get("name"), meta["application-name"])
        or _title_suffix(page_title, _first(meta["og:title"], named, meta["twitter:title"]))
        or _home_link_name(page.root, base)
    )
    result.published_at = (
        parse_date(main.get("datePublished"))
        or parse_date(meta["article:published_time"])
        or parse_date(meta["og:published_time"])
        or parse_date(meta["datepublished"])
        or parse_date(meta["date"])
        or parse_date(meta["dc.date"])
        or parse_date(meta["dc.date.issued"])
        or parse_date(meta["dcterms.date"])
        or parse_date(meta["citation_publication_date"])
        or parse_date(meta["parsely-pub-date"])
        or parse_date(meta["sailthru.date"])
        or parse_date(meta["pubdate"])
        or parse_date(meta["publishdate"])
        or _body_date(page.root)
        or _date_in_url(url)
        or _date_anywhere(page.root, url)
    )
    image = _first(_image(main.get("image")), _image(main.get("thumbnailUrl")), meta["og:image"],
                   meta["og:image:url"], meta["og:image:secure_url"], meta["twitter:image"],
                   meta["twitter:image:src"], meta["image"], meta["thumbnailurl"], meta["thumbnail"],
                   page.image_src) or _body_image(page.root)  # fmt: skip
    result.image = urljoin(base, image) if image and base else image
    language = _first(main.get("inLanguage"), html_lang.group(1) if html_lang else None, meta["og:locale"])
    result.language = language.replace("_", "-").split("-")[0].lower() if language else None
    result.duration_seconds = (
        parse_duration(main.get("duration")) or parse_duration(meta["video:duration"]) or _youtube_duration(html)
    )
    isbn = _first(main.get("isbn"), meta["books:isbn"], meta["book:isbn"])
    result.isbn = isbn13(isbn) if isbn else None
    result.canonical_url = _first(page.canonical, meta["og:url"])
    if result.canonical_url and base:
        result.canonical_url = urljoin(base, result.canonical_url)
    result.types = [*([meta["og:type"].lower()] if meta["og:type"] else []), *(t for n in nodes for t in _types(n))]
    result.keywords = _keywords(main, nodes, meta, html)
    return result


def _ld_title(main: dict[str, Any], page_title: str | None) -> str | None:
    """JSON-LD's headline, or its name when only the name is in the page's <title> (Wikipedia's
    "headline" is a one-line description)."""
    headline, name = _first(main.get("headline")), _first(main.get("name"))
    if headline and name and page_title and name in page_title and headline not in page_title:
        return name
    return headline or name


def _image(value: Any) -> str | None:
    """A JSON-LD image: an address, an ImageObject (url or contentUrl), or a list of either."""
    if isinstance(value, list):
        return next((found for found in map(_image, value) if found), None)
    if isinstance(value, dict):
        return _first(value.get("url"), value.get("contentUrl"))
    return _first(value)


# "byline", "FeatureByline", "author-name", "Author": the word without its first letter matches
# both cases, at the cost of no more than the lower-case word alone (translate() costs three times).
_BYLINE = '//*[contains(@class, "yline") or contains(@id, "byline") or contains(@class, "uthor")]'

_AUTHOR_LINK = '//a[contains(concat(" ", normalize-space(@rel), " "), " author ")] | //*[@itemprop="author"]'


def _body_author(root: Any) -> str | None:
    """A byline in the page itself: a rel=author link, an itemprop=author, an element called byline."""
    if root is None:
        return None
    for element in root.xpath(_AUTHOR_LINK):
        named = element.xpath('string(.//*[@itemprop="name"])') or element.get("content") or element.text_content()
        found = _author(named)
        if found and len(found) <= 100:
            return found
    for element in root.xpath(_BYLINE):
        if "comment" in f"{element.get('class')} {element.get('id')}".lower():
            continue
        found = _author(_DATED.sub("", _clean(element.text_content()) or ""))
        if found and 3 <= len(found) <= 100 and len(found.split()) <= 8 and not _NOT_A_BYLINE.search(found):
            return found
    return None


_NOT_A_BYLINE = re.compile(r"^(?:last\s+)?(?:updated|posted|published)\b|:$", re.IGNORECASE)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
# A date a byline runs on into: "By Ana Lima March 25, 2015", "by Ben Ode22 Dec 2016".
_DATED = re.compile(
    rf"\s*(?:,|\bon\b|\|)?\s*(?:\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}).*$",
    re.IGNORECASE,
)


def _body_date(root: Any) -> datetime | None:
    """A `<time datetime>` or an itemprop=datePublished in the page itself."""
    if root is None:
        return None
    for element in root.xpath('//*[@itemprop="datePublished"] | //time[@datetime]'):
        found = parse_date(element.get("content") or element.get("datetime"))
        if found:
            return found
    return None


def _date_anywhere(root: Any, url: str | None) -> datetime | None:
    """What htmldate finds where the page states a date in no field: a byline's date, a dated
    heading, a date in an image's address, a timestamp in the text. Its fast mode, publication
    dates rather than updates, never later than today."""
    body = root.find("body") if root is not None else None
    if body is None:
        return None
    try:
        # The body alone: the head's dates were read above, and a modification date there (which
        # htmldate falls back on when the head has no other) is not when the page was published.
        found = find_date(body, extensive_search=False, original_date=True, url=url)
    except Exception:  # noqa: BLE001 - a heuristic's slip costs the date, never the page
        logger.debug("no date from htmldate", exc_info=True)
        return None
    return datetime.fromisoformat(found).replace(tzinfo=UTC) if found else None


_SEPARATOR = re.compile(r"\s+(?:[|\-–—·»/]|::)\s+|\s*[|｜]\s*|(?<=[^\x00-\x7f])\s*_|_(?=[^\x00-\x7f])")
_BRACKETED = re.compile(r"\[([^\[\]]{2,40})\]\s*$")
_NOT_A_NAME = re.compile(r"^(?:part|chapter|episode|ep\.?|vol\.?|volume|page|step|issue|no\.?)\s*\d|^[\d\W]+$", re.I)


def _title_suffix(page_title: str | None, title: str | None) -> str | None:
    """The site's name a `<title>` ends with: "Headline | Startup Grind", "Headline - The New York
    Times", "… [LWN.net]". When the page names its headline apart, what the `<title>` adds to it;
    otherwise the last part, if short and after a longer one."""
    if not page_title:
        return None
    bracketed = _BRACKETED.search(page_title)
    if bracketed:
        candidate = bracketed.group(1).strip()
    elif title and page_title != title and page_title.startswith(title):
        parts = _SEPARATOR.split(page_title[len(title) :], maxsplit=1)
        if len(parts) < 2 or parts[0].strip():
            return None
        candidate = parts[1].strip()
    else:
        parts = _SEPARATOR.split(page_title)
        candidate = parts[-1].strip()
        if len(parts) < 2 or len(" ".join(parts[:-1]).strip()) <= len(candidate):
            return None
    if not 2 <= len(candidate) <= 40 or len(candidate.split()) > 5 or _NOT_A_NAME.search(candidate):
        return None
    return candidate if candidate != title else None  # "draft-04 - remoteStorage" names the document


_GENERIC_LINK = re.compile(r"home|front page|main page|^(?:start|logo|back|menu|skip\b.*)$", re.IGNORECASE)


def _home_link_name(root: Any, base: str | None) -> str | None:
    """The name on the page's link to its site's home page: the logo's alt text, or the link's."""
    host = urlsplit(base).hostname if base else None
    if root is None or not host:
        return None
    hosts = {host, host.removeprefix("www."), f"www.{host.removeprefix('www.')}"}
    homes = {"/", "./"} | {f"{scheme}//{name}{end}" for scheme in ("", "http:", "https:") for name in hosts
                           for end in ("", "/")}  # fmt: skip
    # XPath picks the links home in C; a page has hundreds of others.
    for link in _HOME_LINKS(root, homes=" ".join(sorted(homes))):
        names = [link.get("title"), link.get("aria-label"), link.text_content()]
        names += [image.get("alt") for image in link.iter("img")]
        for name in names:
            cleaned = _clean(name)
            if cleaned and 2 <= len(cleaned) <= 40 and cleaned[0].isalnum() and not _GENERIC_LINK.search(cleaned):
                return cleaned
    return None


# Links whose href, stripped, is one of the space-separated `$homes` (none of them holds a space).
_HOME_LINKS = etree.XPath('//a[contains(concat(" ", $homes, " "), concat(" ", normalize-space(@href), " "))]')


_NOT_PICTURES = re.compile(
    r"logo|icon|avatar|sprite|\bpixel|spacer|\bblank\b|badge|button|emoji|licen[cs]e|math|\.svg(?:$|\?)", re.IGNORECASE
)


def _body_image(root: Any) -> str | None:
    """A video's poster, else the page's first picture that is not an icon, a logo or a spacer:
    one declared at least 300 pixels wide (or 200 high), or of no declared size and described
    by its alt text; those of the article (or its figures) first."""
    if root is None:
        return None
    for video in root.iter("video"):
        if video.get("poster"):
            return str(video.get("poster"))
    for path in ("//article//img | //figure//img | //main//img", "//body//img"):
        for image in root.xpath(path):
            source = _picture_source(image)
            if not source or _NOT_PICTURES.search(f"{source} {image.get('class')} {image.get('alt')}"):
                continue
            width, height = _pixels(image.get("width")), _pixels(image.get("height"))
            if width is None and height is None:
                alt = (image.get("alt") or "").strip()
                if alt[:1].isalnum():
                    return source
            elif (width or 0) >= 300 or (height or 0) >= 200:
                return source
    return None


def _picture_source(image: Any) -> str | None:
    """An image's address: its src, or where the src is a placeholder the lazy loader's data-src
    or the largest of a srcset (the last, by custom)."""
    for value in (image.get("src"), image.get("data-src")):
        address = (value or "").strip()
        if address and not address.startswith("data:"):
            return address
    for value in (image.get("data-srcset"), image.get("srcset")):
        address = re.split(r",\s+", (value or "").strip())[-1].split(" ", 1)[0]  # addresses may hold commas
        if address and not address.startswith("data:"):
            return address
    return None


def _pixels(value: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", value or "")
    return int(match.group(1)) if match else None


def _first_paragraph(root: Any) -> str | None:
    """The article's first paragraph of some length, when the page offers no description."""
    if root is None:
        return None
    for path in ("//article//p", "//main//p", "//body//p"):
        for element in root.xpath(path):
            text = _clean(element.text_content())
            if text and len(text) >= 50:
                return text[:500]
    return None


_YOUTUBE_LENGTH = re.compile(r'"lengthSeconds"\s*:\s*"(\d+)"')


def _youtube_duration(html: str) -> int | None:
    """YouTube's player data (ytInitialPlayerResponse) carries the length in seconds."""
    match = _YOUTUBE_LENGTH.search(html) if "lengthSeconds" in html else None
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
