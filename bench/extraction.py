"""Metadata extraction: fields right, fields left empty and time per page, Peershelf beside
trafilatura (and htmldate for dates), same pages, same run.

    pip install -e '.[bench]'
    python bench/extraction.py [PAGES_DIR]

PAGES_DIR defaults to tests/fixtures/pages (saved real pages with the values a good extractor
should find, in Readability's field names). Each extractor parses every page from its HTML string.

Readability's null date or site name means it found none, not that the page has none: such a
field is neither right nor wrong, and what an extractor finds there is counted apart ("the
reference lacks"). "Left empty" counts the fields the reference has a value for and the extractor
gave none.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.reading.metadata import extract

FIELDS = ("title", "byline", "excerpt", "siteName", "lang", "publishedTime")
BASE_URL = "http://fakehost/test/page.html"


def norm(value: Any) -> str | None:
    return (
        None if value in (None, "") else re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value))).strip().lower()
    )


def right(field: str, expected: Any, got: Any) -> bool:
    if field == "publishedTime":  # counted only where the reference has a date (see measure)
        return bool(got) and str(got)[:10] == expected[:10]
    if field == "lang":
        return (norm(got) or "").split("-")[0] == ((norm(expected) or "").split("-")[0])
    return norm(got) == norm(expected)


UNKNOWN_WHEN_NULL = ("publishedTime", "siteName")


def peershelf(html: str) -> dict[str, Any]:
    found = extract(html, BASE_URL)
    return {
        "image": found.image,
        "title": found.title,
        "byline": found.author,
        "excerpt": found.description,
        "siteName": found.site_name,
        "lang": found.language,
        "publishedTime": found.published_at.isoformat() if found.published_at else None,
    }


def trafilatura_metadata(html: str) -> dict[str, Any]:
    from trafilatura.metadata import extract_metadata

    found = extract_metadata(html, default_url=BASE_URL)
    return {
        "image": found.image,
        "title": found.title,
        "byline": found.author,
        "excerpt": found.description,
        "siteName": found.sitename,
        "lang": None,  # trafilatura's metadata has no page language
        "publishedTime": found.date,
    }


def htmldate_alone(html: str) -> dict[str, Any]:
    from htmldate import find_date

    return {"publishedTime": find_date(html, original_date=True, url=BASE_URL)}


def measure(
    name: str, extractor: Callable[[str], dict[str, Any]], pages: list[tuple[str, dict[str, Any]]], names: list[str]
) -> None:
    """Fields right, and ms per page (median and 95th percentile of single calls).

    A date counts only where the reference (Readability) found one: its null means "not found", so
    a date found there is neither right nor wrong; those are counted apart as `dates the reference
    lacks`."""
    scores = dict.fromkeys(FIELDS, 0)
    totals = dict.fromkeys(FIELDS, 0)
    timings, results = [], []
    for html, _ in pages:
        started = time.perf_counter()
        results.append(extractor(html))
        timings.append((time.perf_counter() - started) * 1000)
    fields = [f for f in FIELDS if f in results[0]]
    extra = dict.fromkeys(UNKNOWN_WHEN_NULL, 0)
    empty: dict[str, list[str]] = {f: [] for f in fields}
    for (_, expected), got, page in zip(pages, results, names, strict=True):
        for field in fields:
            if field not in expected:
                continue
            if field in UNKNOWN_WHEN_NULL and not expected[field]:
                extra[field] += bool(got.get(field))
                continue
            totals[field] += 1
            scores[field] += right(field, expected[field], got.get(field))
            if expected[field] and not got.get(field):
                empty[field].append(page)
    correct, possible = sum(scores[f] for f in fields), sum(totals[f] for f in fields)
    per_field = "  ".join(f"{f} {scores[f]}/{totals[f]}" for f in fields)
    timings.sort()
    left_empty = sum(map(len, empty.values()))
    where = "; ".join(f"{field} on {', '.join(found)}" for field, found in empty.items() if found) or "none"
    images = f"   image on {sum(bool(r.get('image')) for r in results)}" if "image" in results[0] else ""
    print(
        f"{name:<12} {correct}/{possible} fields right  median {statistics.median(timings):5.1f} ms/page, "
        f"p95 {timings[int(0.95 * (len(timings) - 1))]:5.1f}   {per_field}\n"
        f"{'':<12} left empty: {left_empty} ({where})"
        f"   the reference lacks, found: dates {extra['publishedTime']}"
        + (f", site names {extra['siteName']}" if "siteName" in fields else "")
        + images
    )


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "tests/fixtures/pages"
    directories = sorted(p for p in root.iterdir() if p.is_dir())
    pages = [
        ((d / "source.html").read_text(errors="replace"), json.loads((d / "expected-metadata.json").read_text()))
        for d in directories
    ]
    names = [d.name for d in directories]
    print(f"{len(pages)} pages from {root}")
    measure("peershelf", peershelf, pages, names)  # a first round warms imports and caches up
    print("again, warm:")
    measure("peershelf", peershelf, pages, names)
    try:
        for name, extractor in (("trafilatura", trafilatura_metadata), ("htmldate", htmldate_alone)):
            extractor(pages[0][0])
            measure(name, extractor, pages, names)
    except ImportError:
        print("trafilatura is not installed: pip install -e '.[bench]'")


if __name__ == "__main__":
    main()
