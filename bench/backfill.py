"""How long `peershelf backfill` takes for 10,000 messages: Peershelf's own work measured, Slack's
pacing worked out for the limits each kind of app has.

    python bench/backfill.py [--messages 10000] [--links 0.3] [--threads 0.05]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/backfill.py

A local fake Slack holds one channel of `--messages` messages (a share of them with a link, some
with a thread of three replies and a save reaction) over 90 days. The import runs once without
pacing: that is the time Peershelf itself needs (reading pages, capturing, writing), printed with
the number of calls it made. The wall time at each kind of app's limits is then those calls at
the paced rate (calls run one after another, so the pacing sets the pace): Tier 3 for internal
and Marketplace apps (50 calls a minute, 200 messages a page), and the limits Slack set in May
2025 for other distributed apps (1 call a minute, 15 messages a page), whose call count is worked
out for pages of 15.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import describe, scratch_database  # noqa: E402

from bot.demo.fakeslack import BOT_TOKEN, FakeSlack  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.services.backfill import Backfiller, Pacer  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.client import web_client  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LIMITS = {"internal or Marketplace app (Tier 3)": (50, 200), "other distributed app (May 2025)": (1, 15)}


def fill(slack: FakeSlack, messages: int, links: float, threads: float) -> int:
    """The channel's history; the number of thread parents."""
    rng = random.Random(7)
    slack.add_channel("C0BENCH001", "eng-learning")
    parents = 0
    span = 90 * 24 * 3600
    n = 0
    while n < messages:
        ts = f"{NOW.timestamp() - span + n * span / messages:.6f}"
        text = f"worth a read <https://example.com/post-{n}>" if rng.random() < links else f"message {n}"
        message = {"type": "message", "user": f"U{rng.randrange(200):08d}", "ts": ts, "text": text}
        if rng.random() < 0.1:
            message["reactions"] = [{"name": "bookmark", "users": ["U00000001"], "count": 1}]
        slack.add_message("C0BENCH001", message)
        n += 1
        if rng.random() < threads and n + 3 <= messages:
            parents += 1
            for r in range(3):
                reply_ts = f"{float(ts) + r + 1:.6f}"
                reply = {"type": "message", "user": "U00000002", "ts": reply_ts, "thread_ts": ts,
                         "text": f"reply <https://example.com/r-{n}-{r}>"}  # fmt: skip
                slack.add_message("C0BENCH001", reply)
                n += 1
    return parents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--links", type=float, default=0.3, help="share of messages with a link")
    parser.add_argument("--threads", type=float, default=0.05, help="share of messages that start a thread")
    args = parser.parse_args()
    slack = FakeSlack()
    slack.start()
    try:
        parents = fill(slack, args.messages, args.links, args.threads)
        with scratch_database("backfill") as url:
            engine = make_engine(url)
            migrate.upgrade(engine)
            settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, database_url=url)
            services = Services(settings=settings, engine=engine, new_session=session_factory(engine))
            services.clock = lambda: NOW
            backfiller = Backfiller(services, web_client(settings), "T0PEERS01", Pacer(1e9))
            rows, _ = backfiller.plan([("C0BENCH001", "eng-learning")], since=NOW - timedelta(days=91))
            started = time.perf_counter()
            [tally] = [backfiller.run(row) for row in rows]
            own = time.perf_counter() - started
            history = len(slack.calls_to("conversations.history"))
            replies = len(slack.calls_to("conversations.replies"))
            print(f"database: {describe(url)}")
            print(f"{args.messages:,} messages ({parents} threads): {tally.messages:,} read, {tally.links:,} links, "
                  f"{tally.saves:,} saves")  # fmt: skip
            per_message = 1000 * own / tally.messages
            print(f"Peershelf's own time, unpaced: {own:.1f} s for {history} history + {replies} replies calls "
                  f"(pages of {settings.history_page_size}), {per_message:.2f} ms a message")  # fmt: skip
            top_level = args.messages - 3 * parents
            for kind, (per_minute, page) in LIMITS.items():
                calls = math.ceil(top_level / page) + parents  # one replies call per thread (3 replies < a page)
                paced = calls * 60 / per_minute
                print(f"{kind}: {per_minute}/min, {page} a page -> {calls:,} calls, about "
                      f"{_duration(max(paced, own))} for {args.messages:,} messages")  # fmt: skip
            engine.dispose()
    finally:
        slack.stop()


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3 * 3600 else f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    main()
