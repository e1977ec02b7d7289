"""One full weekly-digest pass over a large synthetic workspace: time and peak memory.

    python bench/digest.py [--people 10000] [--items 200000]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/digest.py
    python bench/digest.py --without-picks   # the same pass with no Picked for you, to compare

The workspace's pick weights are refitted first, in a child process (the weekly background job),
with its own time and memory printed; the pass then reads them as it would in production.

The workspace (seeded, so every run builds the same one) has follows, list subscriptions,
interests, shares, saves and recommendations for every person. The pass is the production one,
pacing included: Slack answers at once (an in-process client with WebClient's interface) and the
pause between DMs is counted rather than slept, so the run prints both Peershelf's own work
(finding who is due, claiming, building, rendering, recording) and the wall time the pacing
would add. The fill runs in a child process, so the memory figure is the pass's alone; a fill
that fails, or digests that fail, stop the run with the reason. The database is a throw-away
one (bench/scratch.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import describe, scratch_database  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot.reading.topics import load_taxonomy  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.services.digests.delivery import DigestPass  # noqa: E402
from bot.services.picks import refit  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    CuratedList,
    Follow,
    Interest,
    Item,
    ItemTag,
    ListItem,
    Person,
    Recommendation,
    Save,
    Share,
    Subscription,
)

TEAM = "T0BENCH001"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday, after everyone's 09:00 slot
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata"]


def chunks(rows: list[dict[str, object]], size: int = 5000) -> list[list[dict[str, object]]]:
    return [rows[n : n + size] for n in range(0, len(rows), size)]


def fill(url: str, people: int, item_count: int, rng: random.Random) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    topics = list(load_taxonomy().topics)
    users = [f"U{n:08d}" for n in range(people)]
    recent = lambda: NOW - timedelta(minutes=rng.randint(10, 60 * 24 * 20))  # noqa: E731  within three weeks
    started = time.perf_counter()
    with engine.begin() as db:
        for part in chunks(
            [
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "name": u,
                    "tz": rng.choice(ZONES),
                    "is_bot": False,
                    "digest_enabled": True,
                    "profile_refreshed_at": NOW,
                    "created_at": NOW,
                }
                for u in users
            ]
        ):
            db.execute(insert(Person), part)
        item_ids: list[int] = []
        for start in range(0, item_count, 5000):
            rows = [
                {
                    "team_id": TEAM,
                    "canonical_url": f"https://site{n % 900}.example/p/{n}",
                    "url": f"https://site{n % 900}.example/p/{n}",
                    "kind": "article",
                    "title": f"Article {n}",
                    "description": "About things",
                    "is_public": rng.random() < 0.85,
                    "fetch_state": "done",
                    "fetch_attempts": 1,
                    "created_at": NOW - timedelta(days=21),
                    "updated_at": NOW,
                }
                for n in range(start, min(start + 5000, item_count))
            ]
            item_ids += list(db.execute(insert(Item).returning(Item.id), rows).scalars())
        db.execute(
            insert(ItemTag),
            [
                {
                    "team_id": TEAM,
                    "item_id": i,
                    "tag": rng.choice(topics),
                    "source": "auto",
                    "removed": False,
                    "created_at": NOW,
                }
                for i in item_ids
            ],
        )
        shares = [
            {
                "team_id": TEAM,
                "item_id": i,
                "user_id": rng.choice(users),
                "channel_id": "C0GENERAL1",
                "channel_type": "channel",
                "message_ts": f"{n}.0",
                "is_private": False,
                "shared_at": recent(),
            }
            for n, i in enumerate(item_ids)
        ]
        for part in chunks(shares):
            db.execute(insert(Share), part)
        saves = sorted({(rng.choice(users), rng.choice(item_ids)) for _ in range(item_count // 2)})
        for part in chunks(
            [
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "item_id": i,
                    "status": rng.choice(["unread", "done"]),
                    "source": "reaction",
                    "saved_at": recent(),
                }
                for u, i in saves
            ]
        ):
            db.execute(insert(Save), part)
        follows = sorted({(u, rng.choice(users)) for u in users for _ in range(5)})
        for part in chunks(
            [{"team_id": TEAM, "follower_id": a, "followee_id": b, "created_at": NOW} for a, b in follows if a != b]
        ):
            db.execute(insert(Follow), part)
        interests = sorted({(u, rng.choice(topics)) for u in users for _ in range(2)})
        for part in chunks([{"team_id": TEAM, "user_id": u, "topic": t, "created_at": NOW} for u, t in interests]):
            db.execute(insert(Interest), part)
        list_ids = list(
            db.execute(
                insert(CuratedList).returning(CuratedList.id),
                [
                    {
                        "team_id": TEAM,
                        "owner_id": rng.choice(users),
                        "name": f"List {n}",
                        "name_key": f"list {n}",
                        "feed_token": uuid.uuid4().hex,
                        "created_at": NOW,
                    }
                    for n in range(people // 20)
                ],
            ).scalars()
        )
        entries = sorted({(rng.choice(list_ids), rng.choice(item_ids)) for _ in range(len(list_ids) * 40)})
        for part in chunks([{"list_id": lid, "item_id": i, "position": 0, "added_at": recent()} for lid, i in entries]):
            db.execute(insert(ListItem), part)
        subs = sorted({(rng.choice(list_ids), u) for u in users for _ in range(2)})
        for part in chunks([{"team_id": TEAM, "list_id": lid, "user_id": u, "created_at": NOW} for lid, u in subs]):
            db.execute(insert(Subscription), part)
        recs = sorted({(rng.choice(item_ids), rng.choice(users), rng.choice(users)) for _ in range(people * 2)})
        for part in chunks(
            [
                {"team_id": TEAM, "item_id": i, "from_user_id": a, "to_user_id": b, "created_at": recent()}
                for i, a, b in recs
                if a != b
            ]
        ):
            db.execute(insert(Recommendation), part)
    with engine.connect() as db:
        db.exec_driver_sql("ANALYZE")
        db.commit()
    engine.dispose()
    print(f"  filled {people:,} people, {item_count:,} items in {time.perf_counter() - started:.0f} s")


class InstantSlack(WebClient):
    """WebClient's interface, answering chat.postMessage at once and keeping nothing (a recording mock
    would hold every digest in memory and distort the memory figure)."""

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802 (Slack's method name)
        return {"ok": True, "ts": "1.0", "channel": "D1"}


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as db:
        found = {
            name: int(db.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in (
                ("people", Person),
                ("items", Item),
                ("shares", Share),
                ("saves", Save),
                ("follows", Follow),
                ("subscriptions", Subscription),
                ("recommendations", Recommendation),
            )
        }
    engine.dispose()
    return found


def refit_apart(url: str) -> None:
    """The weekly refit of the workspace's pick weights, in a child process: its time and memory."""
    child = multiprocessing.get_context("spawn").Process(target=refit_once, args=(url,))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"the refit failed (exit status {child.exitcode}); see above")


def refit_once(url: str) -> None:
    engine = make_engine(url)
    started, cpu = time.perf_counter(), time.process_time()
    with session_factory(engine)() as session:
        fitted = refit(session, team_id=TEAM, now=NOW)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"  refit of the pick weights: {time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU), "
        f"peak RSS {peak / 1024:.0f} MB; {fitted.examples:,} pairs, {fitted.positives:,} saved, "
        f"{'learned' if fitted.weights.fitted else 'defaults'}"
    )


def run(url: str, *, picks: bool = True) -> None:
    engine = make_engine(url)
    settings = Settings(slack_bot_token="xoxb-bench", database_url=url)
    services = Services(settings=settings, engine=engine, new_session=session_factory(engine), clock=lambda: NOW)
    paused: list[float] = []
    digest_pass = DigestPass(services, InstantSlack(), sleep=paused.append)  # production pacing, counted
    if not picks:  # the same pass with no Picked for you, to see what picking costs
        digest_pass._picker = lambda *args: None  # type: ignore[assignment,method-assign,return-value]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    result = digest_pass.run(TEAM, now=NOW)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine.dispose()
    print(
        f"  pass: {result.sent:,} digests sent, {result.skipped:,} empty (skipped), {result.failed:,} failed, "
        f"{result.not_due:,} not due"
    )
    print(
        f"  Peershelf's own work {elapsed:.1f} s ({cpu:.1f} s CPU){'' if picks else ', without picks'}; "
        "with the pacing between DMs "
        f"({digest_pass.pace_seconds:g} s each) the pass takes {elapsed + sum(paused):,.0f} s of wall time"
    )
    print(f"  peak RSS {peak / 1024:.0f} MB ({(peak - before) / 1024:+.0f} MB during the pass)")
    if result.failed or not result.sent:
        raise SystemExit("digests failed or none were sent: these figures measure nothing")


def fill_apart(url: str, people: int, items: int) -> None:
    """Fill in a child process, so the memory figure is the pass's alone; stop if it failed."""
    child = multiprocessing.get_context("spawn").Process(target=fill, args=(url, people, items, random.Random(11)))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"filling the database failed (exit status {child.exitcode}); see above")
    found = counts(url)
    if found["people"] != people or found["items"] != items:
        raise SystemExit(f"the fill stored {found}, not {people:,} people and {items:,} items")
    print("  data: " + ", ".join(f"{n:,} {name}" for name, n in found.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--without-picks", action="store_true", help="the same pass with no Picked for you")
    args = parser.parse_args()
    with scratch_database("digest") as url:
        print(f"a weekly digest pass on {describe(url)}, at {NOW:%A %Y-%m-%d %H:%M} UTC")
        fill_apart(url, args.people, args.items)
        if not args.without_picks:
            refit_apart(url)
        run(url, picks=not args.without_picks)


if __name__ == "__main__":
    main()
