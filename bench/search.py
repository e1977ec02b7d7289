"""`/shelf search` at scale: p50 / p95 over 200,000 items on SQLite and PostgreSQL.

    python bench/search.py [--items 200000] [--queries 200]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/search.py

With a PostgreSQL DATABASE_URL a throw-away database is created beside the named one and dropped
after. Items get titles and descriptions drawn from a Zipf-like vocabulary (so common words match
tens of thousands of items, as real ones do); 30 % are public, the asker has shared or saved a
few hundred private ones. Queries run through the same function `/shelf search` uses.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import scratch_database  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from storage import migrate  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.items import (
    search_visible,  # noqa: E402
    url_words,  # noqa: E402
)
from storage.models import Item, Save  # noqa: E402

TEAM, ASKER = "T0BENCH001", "U0ASKER001"
TOPICS = [
    "python",
    "rust",
    "kubernetes",
    "testing",
    "design",
    "leadership",
    "hiring",
    "security",
    "cloud",
    "database",
    "postgres",
    "react",
    "career",
    "mentoring",
    "product",
    "strategy",
    "marketing",
    "sales",
    "finance",
    "agile",
    "remote",
    "writing",
    "data",
    "machine",
    "learning",
    "observability",
    "incident",
    "architecture",
    "microservices",
    "accessibility",
    "onboarding",
    "feedback",
    "burnout",
]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "pa", "di", "fu", "ge", "ho", "ji", "ba", "co", "de"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size * 2)}
    return TOPICS + sorted(words)[: size - len(TOPICS)]


def zipf_pick(rng: random.Random, words: list[str]) -> str:
    return words[min(int(rng.paretovariate(1.1)) - 1, len(words) - 1)]


def fill(url: str, count: int, rng: random.Random) -> list[str]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    words = vocabulary(rng)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as connection:
        for chunk in range(0, count, 5000):
            rows = []
            for n in range(chunk, min(chunk + 5000, count)):
                title = " ".join(zipf_pick(rng, words) for _ in range(rng.randint(4, 9))).capitalize()
                description = " ".join(zipf_pick(rng, words) for _ in range(rng.randint(12, 30)))
                link = f"https://site{n % 700}.example/{title.lower().replace(' ', '-')}-{n}"
                rows.append(
                    {
                        "team_id": TEAM,
                        "canonical_url": link,
                        "url": link,
                        "kind": "article",
                        "title": title,
                        "description": description,
                        "is_public": rng.random() < 0.3,
                        "fetch_state": "done",
                        "fetch_attempts": 1,
                        "created_at": now,
                        "updated_at": now,
                    }  # fmt: skip
                )
            ids = connection.execute(insert(Item).returning(Item.id), rows).scalars().all()  # type: ignore[arg-type]
            connection.execute(
                text("INSERT INTO search_doc (team_id, item_id, user_id, body) VALUES (:team, :item, NULL, :body)"),
                [
                    {"team": TEAM, "item": i, "body": f"{r['title']} {r['description']} {url_words(r['url'])}"}
                    for i, r in zip(ids, rows, strict=True)
                ],  # fmt: skip
            )
            private = [i for i, r in zip(ids, rows, strict=True) if not r["is_public"]]
            mine = rng.sample(private, min(len(private), 10))
            connection.execute(
                insert(Save),
                [
                    {
                        "team_id": TEAM,
                        "user_id": ASKER,
                        "item_id": i,
                        "status": "unread",
                        "source": "command",
                        "saved_at": now,
                    }
                    for i in mine
                ],  # fmt: skip
            )
    with engine.connect() as connection:  # as the hourly housekeeping does in `peershelf run`
        connection.execute(text("ANALYZE"))
        connection.commit()
    print(f"  filled {count:,} items in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    return words


def measure(url: str, words: list[str], queries: int, rng: random.Random) -> None:
    engine = make_engine(url)
    new_session = session_factory(engine)
    timings, hits = [], []
    for n in range(queries + 10):
        query = " ".join(zipf_pick(rng, words) for _ in range(rng.choice((1, 1, 2, 2, 3))))
        with new_session() as session:
            started = time.perf_counter()
            found = search_visible(session=session, team_id=TEAM, user_id=ASKER, words=query, tag=None)
            elapsed = (time.perf_counter() - started) * 1000
        if n >= 10:  # the first few warm caches
            timings.append(elapsed)
            hits.append(len(found))
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    backend = engine.dialect.name
    print(
        f"  {backend}: {queries} searches, p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
        f"max {timings[-1]:.1f} ms; median {statistics.median(hits):.0f} results shown per search"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    with scratch_database("search") as url:
        words = fill(url, args.items, rng)
        measure(url, words, args.queries, rng)


if __name__ == "__main__":
    main()
