"""Slack's acks under a stream of new links, and recovery after a worker is killed.

    python bench/load.py [--rates 50,100,200] [--seconds 30] [--page-delay 0.2]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/load.py

Everything runs as it does in production, each part in its own process on this machine: the real
`peershelf run --http` (web process) with the worker it starts, the project's fake Slack, a page
server answering with the repository's real saved pages after --page-delay seconds, and a sender
that posts signed message events, each with a new link, open loop at each rate for --seconds.
The database is a throw-away one (bench/scratch.py).

Printed per rate: ack p50 / p99 / max (the HTTP answer to each event, as Slack times it), answers
other than 200, and, at the end, shares stored against events accepted, pages read, and each
process's peak resident memory. Then a worker is killed (SIGKILL) while it holds pages, and the
time until every page it held is read by its successor is printed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from scratch import describe, scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.demo.driver import SlackDriver  # noqa: E402
from bot.demo.fakeslack import BOT_TOKEN, FakeSlack  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.pageserver import page_server  # noqa: E402

SECRET = "load-bench-signing-secret"
PEERSHELF = str(Path(sys.executable).parent / "peershelf")
PAGES = [p.name for p in sorted((Path(__file__).resolve().parents[1] / "tests/fixtures/pages").iterdir()) if p.is_dir()]


def _serve_slack(ready: Connection) -> None:
    slack = FakeSlack().start()
    slack.add_user("U0ANA0001", "Ana", tz="Europe/Lisbon")
    slack.add_channel("C0GENERAL1", "general", purpose="Company-wide announcements")
    ready.send(slack.api_url)
    signal.sigwait([signal.SIGTERM])


def _serve_pages(ready: Connection) -> None:
    with page_server() as pages:
        ready.send(pages.url)
        signal.sigwait([signal.SIGTERM])


def _in_process(target: object) -> tuple[multiprocessing.Process, str]:
    mine, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=target, args=(theirs,), daemon=True)
    process.start()
    return process, mine.recv()


def _send(args: tuple[Any, ...]) -> tuple[list[float], int]:
    """The sender, in its own process: `count` events at `rate` a second, open loop. An eighth
    argument spreads the links over that many sites: `pages_url` then holds `{site}`, 1 to N."""
    app_url, pages_url, first, rate, count, threads, delay, *spread = args
    sites = spread[0] if spread else 1
    driver = SlackDriver(app_url, SECRET)
    start = time.perf_counter() + 0.2

    def one(n: int) -> float | None:
        time.sleep(max(0.0, start + n / rate - time.perf_counter()))
        page = PAGES[(first + n) % len(PAGES)]
        event = {"type": "message", "channel": "C0GENERAL1", "channel_type": "channel", "user": "U0ANA0001",
                 "text": f"Worth reading <{pages_url.format(site=1 + (first + n) % sites)}/pages/{page}"
                         f"?delay={delay}&n={first + n}>",
                 "ts": f"1764300000.{first + n:06d}"}  # fmt: skip
        body = driver.event_body(event, event_id=f"EvLoad{first + n:08d}")
        began = time.perf_counter()
        try:
            answer = driver.post(body, "application/json")
        except httpx.HTTPError:
            return None
        took = (time.perf_counter() - began) * 1000
        return took if answer.status_code == 200 else None

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, range(count)))
    driver.close()
    return [r for r in results if r is not None], sum(r is None for r in results)


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _count(engine: object, sql: str) -> int:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.execute(text(sql)).scalar() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="50,100,200", help="events a second, one step each")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--page-delay", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=128, help="sender threads (open loop needs enough)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    slack_process, slack_url = _in_process(_serve_slack)
    pages_process, pages_url = _in_process(_serve_pages)
    try:
        with scratch_database("load") as database_url, tempfile.TemporaryDirectory() as folder:
            print(f"load on {describe(database_url)}; pages answer after {args.page_delay:g} s")
            run(args, rates, database_url, slack_url, pages_url, Path(folder))
    finally:
        for process in (slack_process, pages_process):
            process.terminate()


def run(args: argparse.Namespace, rates: list[float], database_url: str, slack: str, pages: str, folder: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=slack, SHELF_FETCH_ALLOW_PRIVATE="true", LOG_LEVEL="WARNING", PORT=str(port))  # fmt: skip
    log = folder / "peershelf.log"
    with log.open("w") as output:
        web = subprocess.Popen([PEERSHELF, "run", "--http", "--host", "127.0.0.1"], cwd=folder, env=env,
                               stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    app_url = f"http://127.0.0.1:{port}"
    engine = make_engine(database_url)
    try:
        _wait(lambda: httpx.get(f"{app_url}/healthz", timeout=1).status_code == 200, 60, "peershelf run to start")
        _wait(lambda: _workers(web.pid), 60, "its worker to start")
        sent = 0
        with multiprocessing.Pool(1) as sender:  # one process, apart from the app's
            for rate in rates:
                count = int(rate * args.seconds)
                latencies, failed = sender.apply((_send), ((app_url, pages, sent, rate, count, args.threads,
                                                            args.page_delay),))  # fmt: skip
                sent += count
                latencies.sort()
                p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
                print(f"{rate:5g}/s for {args.seconds:g} s: {count} events; ack p50 "
                      f"{statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms; "
                      f"{failed} not answered 200", flush=True)  # fmt: skip
        began = time.monotonic()
        _wait(lambda: _count(engine, "SELECT count(*) FROM item WHERE fetch_state = 'pending'") == 0, 900,
              "every page to be read")  # fmt: skip
        shares = _count(engine, "SELECT count(*) FROM share")
        print(f"shares stored: {shares} of {sent} events; every page read {time.monotonic() - began:.0f} s after "
              f"the last event; peak RSS: web {_peak_mib(web.pid):.0f} MiB, "
              f"worker {_peak_mib(_workers(web.pid)[-1]):.0f} MiB", flush=True)  # fmt: skip
        recovery(engine, app_url, pages, web.pid, sent, args.page_delay)
    finally:
        _stop(web)
        engine.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop `peershelf run` as a deployment would (SIGTERM), killing it if it has not gone in 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def recovery(engine: object, app_url: str, pages: str, web: int, first: int, delay: float) -> None:
    """Kill the worker while it holds pages; time until its successor has read them all."""
    slow = max(delay, 2.0)  # pages slow enough that the worker is sure to be holding some when killed
    _send((app_url, pages, first, 20.0, 40, 8, slow))
    _wait(lambda: _count(engine, "SELECT count(*) FROM item WHERE claimed_until IS NOT NULL "
                                 "AND fetch_state = 'pending'") > 0, 30, "the worker to claim pages")  # fmt: skip
    [victim] = _workers(web)
    held = _count(engine, "SELECT count(*) FROM item WHERE claimed_until IS NOT NULL AND fetch_state = 'pending'")
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    _wait(lambda: _count(engine, "SELECT count(*) FROM item WHERE fetch_state = 'pending'") == 0, 600,
          "the pages to be read after the kill")  # fmt: skip
    print(
        f"worker killed (SIGKILL) holding {held} pages: all read {time.monotonic() - killed:.0f} s later "
        f"by the worker `peershelf run` started in its place ({_workers(web) != [victim]})"
    )


def _workers(web: int) -> list[int]:
    """The web process's children: its worker."""
    found: list[int] = []
    for task in Path(f"/proc/{web}/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def _wait(probe: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what}")


if __name__ == "__main__":
    main()
