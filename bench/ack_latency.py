"""Ack latency: how fast Slack gets its 200 while every shared page takes 3 s to load.

    python bench/ack_latency.py [--events 200] [--rate 20] [--page-seconds 3]
    python bench/ack_latency.py --burst 8      # stress: 8 senders back to back, no pacing

Runs the real app (uvicorn, signature checks, the dedupe middleware, capture into the database)
against the project's fake Slack, with metadata workers fetching in the background from a local
server whose pages each take --page-seconds. Events arrive at --rate a second (open loop, as Slack
sends them) or, with --burst N, from N senders back to back. DATABASE_URL picks the database
(default: a fresh SQLite file). Prints p50 / p99 / max of the HTTP answer to each message event.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.demo.week.driver import SlackDriver  # noqa: E402
from bot.demo.week.fakeslack import BOT_TOKEN, FakeSlack  # noqa: E402

from bot.runtime.app import create_app  # noqa: E402
from bot.runtime.server import build_asgi  # noqa: E402
from bot.runtime.workers import WorkerPool  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from tests.conftest import SIGNING_SECRET, ServerThread  # noqa: E402
from tests.pageserver import page_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events a second")
    parser.add_argument("--burst", type=int, default=0, help="N senders back to back instead of --rate")
    parser.add_argument("--page-seconds", type=float, default=3.0)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
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
        driver.command("help")  # warm up: first-request auth.test, connection pools

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
        workers.stop(timeout=1)
    slack.stop()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    backend = database_url.split(":", 1)[0]
    print(
        f"{args.events} message events, "
        f"{f'{args.burst} senders back to back' if args.burst else f'{args.rate:g}/s'}, "
        f"pages taking {args.page_seconds:g} s, {backend}: "
        f"ack p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
