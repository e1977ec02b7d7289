"""`/shelf search` at scale: what the command answers in, over 200,000 items, SQLite or PostgreSQL.

    python bench/search.py [--items 200000] [--queries 300]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/search.py

Times the whole subcommand, as Slack would wait for it: parsing the text, the full-text search,
what the asker may see, the tags shown and the reply's blocks (the HTTP round trip is not
counted). Items are public (30 %) or private; the asker shared or saved a few hundred private
ones. Titles and descriptions are drawn from a 20,000-word vocabulary with Zipf-Mandelbrot
frequencies, so the most common word is in a few percent of items, as a common topic word is in
a real workspace; queries of one to three words are drawn the same way. The run prints how many
items each query matched, so the figures can be read against the data. The database is a
throw-away one (bench/scratch.py), seeded, so runs are alike.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import describe, scratch_database  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bot.commands import build_shelf  # noqa: E402
from bot.commands.parser import Invocation  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.models import Item, Save  # noqa: E402
from storage.search import matching_item_ids  # noqa: E402
from storage.tags import url_words  # noqa: E402

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


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "pa", "di", "fu", "ge", "ho", "ji", "ba", "co", "de"]
    made = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 5))) for _ in range(size * 2)})
    rng.shuffle(made)
    return TOPICS + made[: size - len(TOPICS)]


class Words:
    """Words drawn with Zipf-Mandelbrot frequencies: weight 1 / (rank + 50). The offset flattens the
    head as real text does once stop words are gone: no word is in more than a few percent of items."""

    def __init__(self, rng: random.Random, words: list[str]) -> None:
        self.rng, self.words = rng, words
        self.cumulative = list(itertools.accumulate(1 / (rank + 50) for rank in range(len(words))))

    def pick(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=count)


def fill(url: str, count: int, rng: random.Random) -> Words:
    engine = make_engine(url)
    migrate.upgrade(engine)
    words = Words(rng, vocabulary(rng))
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    started = time.perf_counter()
    with engine.begin() as connection:
        for chunk in range(0, count, 5000):
            rows = []
            for n in range(chunk, min(chunk + 5000, count)):
                title = " ".join(words.pick(rng.randint(4, 9))).capitalize()
                description = " ".join(words.pick(rng.randint(12, 30)))
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
            mine = rng.sample(private, min(len(private), 10))  # a few hundred in all
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
    with engine.connect() as connection:
        # What follows a bulk load by itself: autovacuum on PostgreSQL (it sets the pages' visibility
        # and moves the GIN index's pending entries into place), the hourly housekeeping of
        # `peershelf run` on SQLite (statistics).
        if connection.dialect.name == "sqlite":
            connection.execute(text("ANALYZE"))
            connection.commit()
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        stored = connection.execute(select(func.count()).select_from(Item)).scalar_one()
        public = connection.execute(select(func.count()).select_from(Item).where(Item.is_public)).scalar_one()
        saved = connection.execute(select(func.count()).select_from(Save)).scalar_one()
    engine.dispose()
    if stored != count:
        raise SystemExit(f"the fill stored {stored:,} items of {count:,}: no figures from a half-filled database")
    print(
        f"  data: {stored:,} items ({public / stored:.0%} public), the asker's {saved:,} saves, "
        f"{len(words.words):,}-word vocabulary; filled in {time.perf_counter() - started:.0f} s"
    )
    return words


def measure(url: str, words: Words, queries: int) -> None:
    engine = make_engine(url)
    new_session = session_factory(engine)
    settings = Settings(slack_bot_token="xoxb-bench", database_url=url)
    shelf = build_shelf(Services(settings=settings, engine=engine, new_session=new_session))
    timings, matched = [], []
    for n in range(queries + 10):
        query = " ".join(words.pick(words.rng.choice((1, 1, 2, 2, 3))))
        invocation = Invocation(team_id=TEAM, user_id=ASKER, channel_id="C0GENERAL1", text=f"search {query}")
        started = time.perf_counter()
        reply = shelf.handle(invocation)  # what `/shelf search` runs before Slack gets its answer
        elapsed = (time.perf_counter() - started) * 1000
        assert "match" in reply.text, reply.text
        if n >= 10:  # the first few warm caches
            timings.append(elapsed)
            with new_session() as session:  # how many items the query matched (up to the ranked 200)
                matched.append(len(matching_item_ids(session, team_id=TEAM, user_id=ASKER, words=query)))
    timings.sort()
    matched.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"  queries: {queries} of 1-3 words; matches per query (at most 200 ranked): median "
        f"{statistics.median(matched):.0f}, p95 {matched[int(len(matched) * 0.95) - 1]}, "
        f"{sum(1 for m in matched if m) / len(matched):.0%} found something"
    )
    print(
        f"  /shelf search, answered in: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
        f"max {timings[-1]:.1f} ms"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    with scratch_database("search") as url:
        print(f"/shelf search on {describe(url)}")
        words = fill(url, args.items, rng)
        measure(url, words, args.queries)


if __name__ == "__main__":
    main()
