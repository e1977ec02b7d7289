"""`peershelf inspect`: what Peershelf would record for a page, for admins and bug reports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bs4 import UnicodeDammit

from bot.reading.fetcher import Fetcher, FetchFailed, FetchRefused
from bot.reading.kinds import kind_of
from bot.reading.links import canonical_url, preferred_canonical
from bot.reading.metadata import Metadata, extract, page_metadata
from bot.reading.topics import Taxonomy

KEYS = (
    "url",
    "kind",
    "title",
    "description",
    "author",
    "site_name",
    "published_at",
    "image",
    "language",
    "duration_seconds",
    "isbn",
    "topics",
)


def record(meta: Metadata, *, url: str | None, content_type: str | None, taxonomy: Taxonomy) -> dict[str, Any]:
    """The fields of SPEC §2, missing values as None, topics strongest first."""
    matches = taxonomy.tag(
        title=meta.title, description=meta.description, keywords=meta.keywords, site=meta.site_name, url=url
    )
    if url:
        canonical: str | None = preferred_canonical(canonical_url(url), url, meta.canonical_url)
    elif meta.canonical_url and meta.canonical_url.startswith(("http://", "https://")):
        canonical = canonical_url(meta.canonical_url)  # a saved file that names its own address
    else:
        canonical = None
    return {
        "url": canonical,
        "kind": kind_of(url or "", types=meta.types, content_type=content_type),
        "title": meta.title,
        "description": meta.description,
        "author": meta.author,
        "site_name": meta.site_name,
        "published_at": meta.published_at.isoformat() if meta.published_at else None,
        "image": meta.image,
        "language": meta.language,
        "duration_seconds": meta.duration_seconds,
        "isbn": meta.isbn,
        "topics": [m.slug for m in matches],
        "topic_words": {m.slug: list(m.evidence) for m in matches},
    }


def inspect_url(fetcher: Fetcher, url: str, taxonomy: Taxonomy) -> dict[str, Any]:
    try:
        page = fetcher.fetch(url)
    except (FetchRefused, FetchFailed) as error:
        return {"error": str(error)}
    return record(page_metadata(page), url=page.url, content_type=page.content_type, taxonomy=taxonomy)


def inspect_file(path: Path, saved_from: str | None, taxonomy: Taxonomy) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        return {"error": f"cannot read {path}: {error.strerror or error}"}
    html = UnicodeDammit(raw, is_html=True).unicode_markup or ""
    if not looks_like_html(html):
        return {"error": f"{path} is not an HTML page (save the page itself, as .html)"}
    return record(extract(html, saved_from), url=saved_from, content_type="text/html", taxonomy=taxonomy)


_HTML_START = re.compile(r"<(!doctype\s+html|html|head|body|title|meta)\b", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """A saved page, rather than a PDF, an image or plain text: an HTML tag near its start."""
    return "\x00" not in text[:4096] and _HTML_START.search(text[:65536]) is not None


def inspect_all(
    sources: list[str], *, fetcher: Fetcher, saved_from: str | None, taxonomy: Taxonomy
) -> Iterator[dict[str, Any]]:
    """One record per source, in order; a source that cannot be read gives {"error": …}."""
    for source in sources:
        if source.lower().startswith(("http://", "https://")):
            found = inspect_url(fetcher, source, taxonomy)
        else:
            found = inspect_file(Path(source), saved_from, taxonomy)
        yield {"source": source, **found}


def as_json(found: dict[str, Any], *, with_source: bool) -> str:
    """The SPEC's keys, and `topic_words`: the words behind each topic, which bug reports need."""
    if "error" not in found:
        found = {key: found.get(key) for key in (("source",) if with_source else ()) + KEYS + ("topic_words",)}
    elif not with_source:
        found = {"error": found["error"]}
    return json.dumps(found, ensure_ascii=False)


def as_text(found: dict[str, Any]) -> str:
    lines = [f"== {found['source']}"]
    if "error" in found:
        return "\n".join([*lines, f"error: {found['error']}"])
    for key in KEYS:
        value = found.get(key)
        if key == "topics":
            evidence = found.get("topic_words") or {}
            value = [f"{slug} ({', '.join(evidence.get(slug, []))})" for slug in value or []]
        shown = ", ".join(value) if isinstance(value, list) else value
        lines.append(f"{key + ':':<18}{shown if shown not in (None, '') else '—'}")
    return "\n".join(lines)
