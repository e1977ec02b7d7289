"""Reading a history import's pages: how fast a backlog drains, politely, while Slack is served.

    python bench/pages.py [--baseline REF] [--links 20000] [--hosts 200] [--page-delay 0.5]
                          [--rate 200] [--seconds 30]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/pages.py ...

`--links` pages wait in the queue, spread over `--hosts` sites and over eight weeks, as a history
import leaves them. Then the real `peershelf run --http` starts (its web process and the worker it
starts), and while the worker reads the backlog a sender posts signed message events, each with a
new link on one of the sites, at `--rate` a second for `--seconds`. Every site is a page server
answering after `--page-delay` seconds with one of the repository's saved real pages; the sites are
the loopback addresses 127.0.0.1 to 127.0.0.N, each a host of its own to the fetcher (hence
SHELF_FETCH_ALLOW_PRIVATE=true). The server counts the requests each site has at once.

With `--baseline REF` the same run is made first for the code at REF (a git worktree of this
repository, removed after), on a database of its own: the current worker beside the new one. A
slow baseline is stopped after `--baseline-seconds`, its rate taken from what it read by then.
The database is a throw-away one (bench/scratch.py).

Printed per run: pages read a second (the backlog's, from the worker's start to the last one
read), time to drain, ack p50 / p99 / max while draining, answers other than 200, the most
requests one site had at once, how close the reading order was to newest first (a rank
correlation: 1 strictly newest first, 0 any order), and the worker's peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load import (  # noqa: E402
    SECRET,
    _count,
    _free_port,
    _in_process,
    _peak_mib,
    _send,
    _serve_slack,
    _stop,
    _wait,
    _workers,
)
from scratch import describe, scratch_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bot.demo.fakeslack import BOT_TOKEN, TEAM_ID  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import Item  # noqa: E402

FIXTURES = ROOT / "tests/fixtures/pages"


# The sites: one asyncio server on every loopback address, answering each GET after a delay.


def _serve_sites(ready: Connection, port: int, delay: float, done: Connection) -> None:
    bodies = [source.read_bytes() for source in sorted(FIXTURES.glob("*/source.html"))]
    busy: dict[str, int] = defaultdict(int)
    busiest: dict[str, int] = defaultdict(int)
    served = [0]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        site = writer.get_extra_info("sockname")[0]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                busy[site] += 1
                busiest[site] = max(busiest[site], busy[site])
                try:
                    await asyncio.sleep(delay)
                    body = bodies[hash(path) % len(bodies)]
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    await writer.drain()
                    served[0] += 1
                finally:
                    busy[site] -= 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(answer, "0.0.0.0", port, backlog=1024)
        ready.send(port)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, done.recv)
        done.send((max(busiest.values(), default=0), served[0]))
        server.close()

    asyncio.run(main())


@contextmanager
def sites(delay: float) -> Any:
    port = _free_port()
    mine, theirs = multiprocessing.Pipe()
    done_mine, done_theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve_sites, args=(theirs, port, delay, done_theirs), daemon=True)
    process.start()
    mine.recv()
    stats: dict[str, int] = {}
    try:
        yield port, stats
    finally:
        done_mine.send("stop")
        stats["busiest"], stats["served"] = done_mine.recv()
        process.terminate()


# The backlog: a history import's links, newest to oldest over eight weeks.


def queue_backlog(database_url: str, links: int, hosts: int, port: int, end: datetime) -> None:
    engine = make_engine(database_url)
    span = timedelta(weeks=8).total_seconds()
    generator = random.Random(7)
    rows = []
    for n in range(links):
        host = f"127.0.0.{1 + n % hosts}"
        url = f"http://{host}:{port}/articles/{n}"
        when = end - timedelta(seconds=generator.random() * span)
        rows.append({"team_id": TEAM_ID, "canonical_url": url, "url": url, "kind": "other", "fetch_state": "pending",
                     "fetch_attempts": 0, "next_fetch_at": when, "created_at": when, "updated_at": when,
                     "is_public": True})  # fmt: skip
    with engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(Item.__table__), rows[start : start + 2000])  # type: ignore[attr-defined]
    engine.dispose()


def read_order(database_url: str) -> float:
    """How close the backlog's reading order was to newest first: the rank correlation between
    when each page was read and how old its link is (1: strictly newest first, 0: any order,
    -1: oldest first). Pages read side by side land in any order among themselves."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        read_pages = select(col(Item.created_at), col(Item.fetched_at)).where(
            col(Item.url).like("%/articles/%"), col(Item.fetched_at).is_not(None)
        )
        rows = connection.execute(read_pages).all()
    engine.dispose()
    if len(rows) < 2:
        return float("nan")
    age = _ranks([-created.timestamp() for created, _ in rows])  # the newest link has the lowest rank
    read = _ranks([fetched.timestamp() for _, fetched in rows])
    return statistics.correlation(age, read)


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = float(rank)
    return ranks


# One run: the app of a checkout, its worker draining the backlog, the sender beside it.


def run(checkout: Path, args: argparse.Namespace, slack: str) -> None:
    label = "this checkout" if checkout == ROOT else f"baseline {args.baseline}"
    with scratch_database("pages") as database_url, sites(args.page_delay) as (port, stats), \
            tempfile.TemporaryDirectory() as folder:  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_URL=slack, SHELF_FETCH_ALLOW_PRIVATE="true", SHELF_FETCH_TIMEOUT="30",
                   LOG_LEVEL="WARNING", PYTHONPATH=str(checkout))  # fmt: skip
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=checkout, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        queue_backlog(database_url, args.links, args.hosts, port, end=datetime.now(UTC) - timedelta(hours=1))
        app_port = _free_port()
        env["PORT"] = str(app_port)
        log = Path(folder) / "peershelf.log"
        with log.open("w") as output:
            web = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--http", "--host", "127.0.0.1"],
                                   cwd=checkout, env=env, stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
        app_url = f"http://127.0.0.1:{app_port}"
        engine = make_engine(database_url)
        backlog = "SELECT count(*) FROM item WHERE fetch_state = 'pending' AND url LIKE '%/articles/%'"
        try:
            import httpx

            _wait(lambda: httpx.get(f"{app_url}/healthz", timeout=1).status_code == 200, 60, "peershelf run")
            _wait(lambda: _workers(web.pid), 60, "its worker")
            began = time.monotonic()
            count = int(args.rate * args.seconds)
            with multiprocessing.Pool(1) as sender:
                spread = (app_url, f"http://127.0.0.{{site}}:{port}", 0, args.rate, count, 128, 0.0, args.hosts)
                pending = sender.apply_async(_send, (spread,))
                latencies, failed = pending.get()
            latencies.sort()
            left_after_burst = _count(engine, backlog)
            limit = began + (args.baseline_seconds if checkout != ROOT else 3600)
            while _count(engine, backlog) and time.monotonic() < limit:
                time.sleep(0.2)
            drained = time.monotonic() - began
            read = args.links - _count(engine, backlog)
            worker_mib = _peak_mib(_workers(web.pid)[-1])
            errors = _count(engine, "SELECT count(*) FROM item WHERE fetch_state NOT IN ('done', 'pending')")
        finally:
            _stop(web)
            engine.dispose()
        order = read_order(database_url)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    print(
        f"{label}: {args.links} pages over {args.hosts} sites answering after {args.page_delay:g} s: "
        f"{read / drained:.1f} pages/s, "
        + (f"drained in {drained:.0f} s " if read == args.links else f"{read} read in {drained:.0f} s, stopped ")
        + f"({args.links - left_after_burst} read during the {args.seconds:g} s of events); "
        f"acks at {args.rate:g}/s: p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, "
        f"max {latencies[-1]:.0f} ms, {failed} not answered 200; most at once on one site {stats['busiest']}; "
        f"newest first {order:.2f} (rank correlation, 1 = strictly); pages given up on {errors}; "
        f"worker peak RSS {worker_mib:.0f} MiB",
        flush=True,
    )


@contextmanager
def worktree(ref: str) -> Any:
    folder = Path(tempfile.mkdtemp(prefix="peershelf-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), ref], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="a git ref whose worker to run first, beside this checkout's")
    parser.add_argument("--baseline-seconds", type=float, default=180, help="how long the baseline reads")
    parser.add_argument("--links", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--page-delay", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=200, help="message events a second while draining")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    slack_process, slack_url = _in_process(_serve_slack)
    try:
        given = os.environ.get("DATABASE_URL", "")
        print(f"pages on {describe(given if given.startswith('postgres') else 'sqlite://')}", flush=True)
        if args.baseline:
            with worktree(args.baseline) as folder:
                run(folder, args, slack_url)
        run(ROOT, args, slack_url)
    finally:
        slack_process.terminate()


if __name__ == "__main__":
    main()
