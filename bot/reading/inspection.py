"""`peershelf inspect`: what Peershelf would record for a page, for admins and bug reports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.reading.charset import decode_html
from bot.reading.kinds import kind_of
from bot.reading.links import canonical_url, preferred_canonical
from bot.reading.metadata import Metadata, extract, page_metadata
from bot.reading.topics import NOBODY, Colleagues, Taxonomy, TopicMatch, explain

if TYPE_CHECKING:
    from bot.reading.fetcher import Fetcher

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


def record(
    meta: Metadata,
    *,
    url: str | None,
    content_type: str | None,
    taxonomy: Taxonomy,
    colleagues: Colleagues | None = None,
) -> dict[str, Any]:
    """The fields of SPEC §2, missing values as None, topics strongest first."""
    reading = taxonomy.read(
        title=meta.title, description=meta.description, keywords=meta.keywords, site=meta.site_name, url=url
    )
    matches = taxonomy.decide(reading, colleagues or NOBODY)
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
        "topic_evidence": {m.slug: evidence(m) for m in matches},
        "topics_refused": taxonomy.refusals(reading, colleagues or NOBODY),
        "keywords": meta.keywords,
    }


def evidence(match: TopicMatch) -> dict[str, Any]:
    """Why a topic was given: its probability, the words and their points, how close the meaning
    came (and to which of the topic's sentences), and what colleagues' corrections added."""
    return {
        "probability": match.score,
        "words": match.words,
        "meaning": match.meaning,
        "like": match.closest,
        "colleagues": match.colleagues,
    }


def inspect_url(fetcher: Fetcher, url: str, taxonomy: Taxonomy, colleagues: Colleagues | None = None) -> dict[str, Any]:
    from bot.reading.fetcher import FetchFailed, FetchRefused

    try:
        page = fetcher.fetch(url)
    except (FetchRefused, FetchFailed) as error:
        return {"error": str(error)}
    return record(
        page_metadata(page), url=page.url, content_type=page.content_type, taxonomy=taxonomy, colleagues=colleagues
    )


def inspect_file(
    path: Path, saved_from: str | None, taxonomy: Taxonomy, colleagues: Colleagues | None = None
) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        return {"error": f"cannot read {path}: {error.strerror or error}"}
    html = decode_html(raw)
    if not looks_like_html(html):
        return {"error": f"{path} is not an HTML page (save the page itself, as .html)"}
    return record(
        extract(html, saved_from), url=saved_from, content_type="text/html", taxonomy=taxonomy, colleagues=colleagues
    )


_HTML_START = re.compile(r"<(!doctype\s+html|html|head|body|title|meta)\b", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """A saved page, rather than a PDF, an image or plain text: an HTML tag near its start."""
    return "\x00" not in text[:4096] and _HTML_START.search(text[:65536]) is not None


def inspect_all(
    sources: list[str],
    *,
    fetcher: Fetcher | None,
    saved_from: str | None,
    taxonomy: Taxonomy,
    colleagues: Colleagues | None = None,
) -> Iterator[dict[str, Any]]:
    """One record per source, in order; a source that cannot be read gives {"error": …}."""
    for source in sources:
        if source.lower().startswith(("http://", "https://")):
            assert fetcher is not None, "a URL needs a fetcher"
            found = inspect_url(fetcher, source, taxonomy, colleagues)
        else:
            found = inspect_file(Path(source), saved_from, taxonomy, colleagues)
        yield {"source": source, **found}


def as_json(found: dict[str, Any], *, with_source: bool) -> str:
    """The SPEC's keys, and what lies behind the topics, which bug reports need: `topic_words` (the
    words behind each topic), `topic_evidence` (see `evidence`), `topics_refused` (why a topic the
    words point at was not given) and the page's `keywords`."""
    if "error" not in found:
        extra = ("topic_words", "topic_evidence", "topics_refused", "keywords")
        found = {key: found.get(key) for key in (("source",) if with_source else ()) + KEYS + extra}
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
            lines.append(f"{'topics:':<18}{'—' if not value else ''}")
            for slug in value or []:
                lines.append(f"  {slug:<16}{_why(found['topic_evidence'][slug])}")
            for slug, why in (found.get("topics_refused") or {}).items():
                lines.append(f"  not {slug:<12}{why}")
            continue
        shown = ", ".join(value) if isinstance(value, list) else value
        lines.append(f"{key + ':':<18}{shown if shown not in (None, '') else '—'}")
    if found.get("keywords"):
        lines.append(f"{'keywords:':<18}{', '.join(found['keywords'])}")
    return "\n".join(lines)


def _why(evidence: dict[str, Any]) -> str:
    return explain(evidence["probability"], evidence["words"], evidence["meaning"], evidence["like"],
                   evidence["colleagues"])  # fmt: skip
