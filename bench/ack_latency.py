"""Ack latency: how fast Slack gets its 200 while every shared page takes 3 s to load.

    python bench/ack_latency.py [--events 200] [--rate 20] [--page-seconds 3]
    python bench/ack_latency.py --burst 8      # stress: 8 senders back to back, no pacing

Runs the real app (uvicorn, signature checks, the dedupe middleware, the capture queue) against
the project's fake Slack, with worker threads in the same process capturing queued messages and
fetching pages in the background from a local server whose pages each take --page-seconds (for
the web and worker processes apart, as `peershelf run` runs them, see bench/load.py). Events
arrive at --rate a second (open loop, as Slack sends them) or, with --burst N, from N senders
back to back. The database is a throw-away one
(bench/scratch.py: SQLite, or PostgreSQL with a PostgreSQL DATABASE_URL). Prints p50 / p99 / max of
the HTTP answer to each message event, and checks that every link was stored.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import describe, scratch_database  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.demo.driver import SlackDriver  # noqa: E402
from bot.demo.fakeslack import BOT_TOKEN, FakeSlack  # noqa: E402
from bot.runtime.app import create_app  # noqa: E402
from bot.runtime.server import ServerThread, build_asgi  # noqa: E402
from bot.runtime.workers import WorkerPool  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.captures import waiting  # noqa: E402
from storage.models import Item  # noqa: E402
from tests.conftest import SIGNING_SECRET  # noqa: E402
from tests.pageserver import page_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events a second")
    parser.add_argument("--burst", type=int, default=0, help="N senders back to back instead of --rate")
    parser.add_argument("--page-seconds", type=float, default=3.0)
    args = parser.parse_args()
    with scratch_database("acks") as database_url:
        print(f"acks on {describe(database_url)}")
        measure(args, database_url)


def measure(args: argparse.Namespace, database_url: str) -> None:
    slack = FakeSlack().start()
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        fetch_allow_private=True,
        fetch_timeout=30,
    )
    services = Services.from_settings(settings)
    migrate.upgrade(services.engine)
    workers = WorkerPool(services, threads=4)
    with page_server() as pages, ServerThread(build_asgi(create_app(services), services)) as app:
        workers.start()
        driver = SlackDriver(app.url, SIGNING_SECRET)
        driver.command("help")  # warm up: connection pools

        def send(n: int) -> float:
            event = {
                "type": "message",
                "channel": "C0GENERAL1",
                "channel_type": "channel",
                "user": "U0ANA0001",
                "text": f"Worth reading <{pages.url}/slow-page?seconds={args.page_seconds}&n={n}>",
                "ts": f"1764300000.{n:06d}",
            }
            body = driver.event_body(event)
            started = time.perf_counter()
            response = driver.post(body, "application/json")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (response.status_code, response.text)
            return elapsed * 1000

        if args.burst:
            with ThreadPoolExecutor(args.burst) as pool:
                latencies = sorted(pool.map(send, range(args.events)))
        else:
            start = time.perf_counter() + 0.1

            def paced(n: int) -> float:
                time.sleep(max(0.0, start + n / args.rate - time.perf_counter()))
                return send(n)

            with ThreadPoolExecutor(64) as pool:
                latencies = sorted(pool.map(paced, range(args.events)))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every queued message captured before the count
            with services.new_session() as session:
                if waiting(session=session) == 0:
                    break
            time.sleep(0.2)
        workers.stop(timeout=1)
        driver.close()
    with services.new_session() as session:
        stored = session.exec(select(func.count()).select_from(Item)).one()
    services.engine.dispose()
    slack.stop()
    if stored != args.events:
        raise SystemExit(f"only {stored} of {args.events} links were stored")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{args.events} message events, "
        f"{f'{args.burst} senders back to back' if args.burst else f'{args.rate:g}/s'}, "
        f"pages taking {args.page_seconds:g} s: "
        f"ack p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms; "
        f"all {stored} links stored"
    )


if __name__ == "__main__":
    main()
