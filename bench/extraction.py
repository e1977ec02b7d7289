"""Metadata extraction: fields right and time per page, Peershelf beside trafilatura, same pages, same run.

    pip install -e '.[bench]'
    python bench/extraction.py [PAGES_DIR]

PAGES_DIR defaults to tests/fixtures/pages (saved real pages with the values a good extractor
should find, in Readability's field names). Each extractor parses every page from its HTML string.
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


def peershelf(html: str) -> dict[str, Any]:
    found = extract(html, BASE_URL)
    return {
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
        "title": found.title,
        "byline": found.author,
        "excerpt": found.description,
        "siteName": found.sitename,
        "lang": None,  # trafilatura's metadata has no page language
        "publishedTime": found.date,
    }


def measure(name: str, extractor: Callable[[str], dict[str, Any]], pages: list[tuple[str, dict[str, Any]]]) -> None:
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
    extra_dates = 0
    for (_, expected), got in zip(pages, results, strict=True):
        for field in FIELDS:
            if field not in expected:
                continue
            if field == "publishedTime" and not expected[field]:
                extra_dates += bool(got.get(field))
                continue
            totals[field] += 1
            scores[field] += right(field, expected[field], got.get(field))
    correct, possible = sum(scores.values()), sum(totals.values())
    per_field = "  ".join(f"{f} {scores[f]}/{totals[f]}" for f in FIELDS)
    timings.sort()
    print(
        f"{name:<12} {correct}/{possible} fields right  median {statistics.median(timings):5.1f} ms/page, "
        f"p95 {timings[int(0.95 * (len(timings) - 1))]:5.1f}   {per_field}   dates the reference lacks: {extra_dates}"
    )


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "tests/fixtures/pages"
    pages = [
        ((d / "source.html").read_text(errors="replace"), json.loads((d / "expected-metadata.json").read_text()))
        for d in sorted(p for p in root.iterdir() if p.is_dir())
    ]
    print(f"{len(pages)} pages from {root}")
    for extractor in (peershelf, trafilatura_metadata):  # warm up imports and caches
        extractor(pages[0][0])
    measure("peershelf", peershelf, pages)
    try:
        measure("trafilatura", trafilatura_metadata, pages)
    except ImportError:
        print("trafilatura is not installed: pip install -e '.[bench]'")


if __name__ == "__main__":
    main()
