"""How well the weekly digest recommends: a simulated workspace replayed through Peershelf, its
digests scored against what people went on to save, beside simple rankings of the same week.

    python bench/recommend.py DATASET_DIR [--seeds 1 2 3] [--people 200]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/recommend.py DATASET_DIR

DATASET_DIR holds people and the papers they saved in the citeulike format: citeulike-t (Hao
Wang, Binyi Chen and Wu-Jun Li, "Collaborative Topic Regression with Social Regularization for
Tag Recommendation", IJCAI 2013). Every figure printed comes from the directory given; this
script and bench/recsim.py read it where it lies and copy none of it into the repository or
anywhere else (the only copies are the pages and messages of the throw-away workspace, gone when
the run ends).

For each seed, bench/recsim.py builds a workspace of `--people` people who hold papers in common:
topic channels with their members, eight weeks of links shared there (each a page with a title,
a description and keywords made of the paper's words and tags), and the earlier saves as
bookmark reactions. Then, through Peershelf's own code paths:

1. a local fake Slack (bot/demo/fakeslack.py) holds the people, channels and messages, and a
   local web server the pages; the database is a throw-away one (bench/scratch.py);
2. the history import (`peershelf backfill`'s Backfiller, unpaced) reads every channel: links
   become items and shares, bookmark reactions saves;
3. the page worker (MetadataWorker) reads every page until its queue is empty;
4. `peershelf digest run --dry-run --json --now <the workspace's digest instant>` runs as a
   command, and its JSON Lines are the digests.

Each person's ranking is their digest's items in order, every section, less what they had shared
or saved already, first five: HR@5 (share of people who save something after the digest with one
of it in their five), recall@5, and reach (share of those people who got any digest at all; the
aim is 90 %). The "Picked for you" section is scored alone too, where digests have it. Beside
them, recsim's anchors for the same week (popularity, content, EASE, a blend), scored the same
way, and the digest's HR@5 over the best anchor's and over popularity's. Timings of each step and
progress go to stderr as they happen; the figures to stdout, with a summary of all seeds last.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import recsim  # noqa: E402
from scratch import describe, scratch_database  # noqa: E402

from bot.demo.fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack  # noqa: E402
from bot.progress import progress  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.services.backfill import Backfiller, Pacer  # noqa: E402
from bot.services.pages import LEASE, MetadataWorker  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.client import web_client  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402

K = recsim.K
PICKS = "Picked for you"
SAVE_EMOJI = "bookmark"  # recsim's savers react with it
REACH_AIM = 90.0
HISTORY_PAGE = 25  # messages a conversations.history page (SHELF_HISTORY_PAGE_SIZE)
ITEM_PATH = re.compile(r"/lib/(\d+)\.html")  # recsim's page paths: the item id is in the address

Ranking = dict[str, list[int]]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the workspace's web pages -------------------------------------------------------------------


def page_html(page: dict[str, Any]) -> bytes:
    title, description = html.escape(page["title"]), html.escape(page["description"])
    keywords = html.escape(", ".join(page["keywords"]))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="description" content="{description}"><meta name="keywords" content="{keywords}">'
        f"</head><body><article><h1>{title}</h1><p>{description}</p></article></body></html>"
    ).encode()


@contextmanager
def page_server(pages: dict[int, dict[str, Any]]) -> Iterator[str]:
    """Every page at its path on a local server; yields its base address."""
    served = {page["path"]: page_html(page) for page in pages.values()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = served.get(self.path.split("?", 1)[0])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if body is not None else "text/plain")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fill_slack(slack: FakeSlack, ws: dict[str, Any], site: str) -> None:
    """People, channels with their members, and each link's message with its savers' reactions."""
    for user_id in ws["users"]:
        slack.add_user(user_id, user_id, tz="UTC")
    for channel in ws["channels"]:
        slack.add_channel(channel["id"], channel["name"])
        slack.members[channel["id"]] = list(channel["members"])
    for m in ws["messages"]:
        message: dict[str, Any] = {
            "type": "message",
            "user": m["user"],
            "ts": m["ts"],
            "text": f"worth a read: <{site}{ws['pages'][m['item']]['path']}>",
        }
        if m["reactions"]:
            message["reactions"] = [{"name": SAVE_EMOJI, "users": list(m["reactions"]), "count": len(m["reactions"])}]
        slack.add_message(m["channel"], message)


# -- the replay ----------------------------------------------------------------------------------


def replay(ws: dict[str, Any], timings: dict[str, float]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The workspace through Peershelf; returns the dry run's digests and what the steps counted."""
    now = datetime.fromtimestamp(ws["now"], UTC)
    counts: dict[str, Any] = {}
    slack = FakeSlack().start()
    try:
        with page_server(ws["pages"]) as site, scratch_database("recommend") as url:
            counts["database"] = describe(url)
            started = time.perf_counter()
            fill_slack(slack, ws, site)
            engine = make_engine(url)
            migrate.upgrade(engine)
            timings["set-up (fake Slack, pages, migrated database)"] = time.perf_counter() - started
            settings = replay_settings(url, slack.api_url)
            services = Services(settings=settings, engine=engine, new_session=session_factory(engine))
            services.clock = lambda: now
            spawn = multiprocessing.get_context("spawn")
            imported, answer = spawn.Event(), spawn.Queue()
            pages = spawn.Process(
                target=page_worker, args=(url, slack.api_url, now, len(ws["pages"]), imported, answer), daemon=True
            )
            pages.start()
            try:
                started = time.perf_counter()
                counts.update(backfill(services, ws, now, timings))
                imported.set()
                read, worker_seconds = wait_for(pages, answer)
                counts.update(read)
                timings["pages read (page worker, beside the import)"] = worker_seconds
                timings["  import and pages, start to end"] = time.perf_counter() - started
            finally:
                imported.set()
                pages.join(timeout=30)
                engine.dispose()
            digests = dry_run(settings, now, timings)
            counts["digests"] = len(digests)
            counts["slots"] = sorted({d["slot"] for d in digests})
            return digests, counts
    finally:
        slack.stop()


def wait_for(process: Any, answer: Any) -> Any:
    """What the child process answers, or the reason it gave none."""
    import queue

    while True:
        try:
            got = answer.get(timeout=1)
        except queue.Empty:
            if not process.is_alive():
                raise SystemExit(f"the page worker stopped without an answer (exit code {process.exitcode})") from None
            continue
        if isinstance(got, BaseException):
            raise SystemExit(f"the page worker failed: {got!r}")
        return got


def replay_settings(url: str, api_url: str) -> Settings:
    """The app's settings for the replay. The fetcher refuses internal addresses unless
    SHELF_FETCH_ALLOW_PRIVATE, as in the tests; the savers' emoji must be a save emoji. History is
    read in short pages: each is written in one transaction, which on SQLite the page worker waits
    for."""
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_api_url=api_url,
        database_url=url,
        fetch_allow_private=True,
        history_page_size=HISTORY_PAGE,
    )
    if not settings.saves_with(SAVE_EMOJI):
        settings = dataclasses.replace(settings, save_reactions=(*settings.save_reactions, SAVE_EMOJI))
    return settings


def backfill(services: Services, ws: dict[str, Any], now: datetime, timings: dict[str, float]) -> dict[str, int]:
    """`peershelf backfill` for the workspace's channels, unpaced (the fake Slack has no limits)."""
    started = time.perf_counter()
    backfiller = Backfiller(services, web_client(services.settings), TEAM_ID, Pacer(1e9))
    since = now - timedelta(weeks=recsim.WEEKS + 1)
    rows, skipped = backfiller.plan([(c["id"], c["name"]) for c in ws["channels"]], since=since)
    if skipped:
        raise SystemExit(f"backfill left out channels: {[(t.channel_id, t.problem) for t in skipped]}")
    bar = progress("history", total=len(ws["messages"]), unit="messages")
    backfiller.on_page = lambda tally, read: bar.update(read)
    try:
        tallies = [backfiller.run(row) for row in rows]
    finally:
        bar.close()
    failed = [(t.channel_id, t.problem) for t in tallies if t.state != "done"]
    if failed:
        raise SystemExit(f"backfill failed: {failed}")
    timings["backfill (history import)"] = time.perf_counter() - started
    return {
        "messages read": sum(t.messages for t in tallies),
        "links": sum(t.links for t in tallies),
        "saves": sum(t.saves for t in tallies),
    }


def page_worker(url: str, api_url: str, now: datetime, expected: int, imported: Any, answer: Any) -> None:
    """A page worker in its own process, as `peershelf worker` reads pages while an import runs:
    the page worker's fetch, batch after batch, until the import is over and nothing is due."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError

    from storage.models import Item

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    engine = make_engine(url)
    services = Services(settings=replay_settings(url, api_url), engine=engine, new_session=session_factory(engine))
    services.clock = lambda: now
    fetcher = services.settings.fetcher()
    worker = MetadataWorker(services, fetcher, batch=25)
    bar = progress("pages", total=expected, unit="pages")
    started, read, waits = time.perf_counter(), 0, 0
    try:
        while True:
            over = imported.is_set()  # before the batch: a batch that finds nothing after it means done
            try:
                processed = worker.run_once()
            except OperationalError as error:  # SQLite busy with the import's page: as a worker does, again
                waits += 1
                logging.getLogger("bench").info("page worker waits: %s", error.orig)
                time.sleep(0.5)
                continue
            read += processed
            if processed:
                bar.update(processed)
            elif over and services.clock() > now:
                break
            elif over:
                # A batch cut short by a busy database leaves its items claimed for the lease: take
                # them over once it has passed, as another worker would.
                services.clock = lambda: now + LEASE + timedelta(minutes=1)
            else:
                time.sleep(0.2)
        with services.new_session() as session:
            found = session.execute(select(Item.fetch_state, func.count()).group_by(Item.fetch_state)).all()
        states = {f"pages {state}": int(n) for state, n in sorted(found)}
        answer.put(({**states, "page worker waits for the database": waits}, time.perf_counter() - started))
    except BaseException as error:
        answer.put(error)
        raise
    finally:
        bar.close()
        fetcher.close()
        engine.dispose()


def dry_run(settings: Settings, now: datetime, timings: dict[str, float]) -> list[dict[str, Any]]:
    """`peershelf digest run --dry-run --json` as a command, at the workspace's digest instant."""
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SHELF_", "DATABASE_URL", "LOG_LEVEL"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=settings.slack_api_url,
        DATABASE_URL=settings.database_url,
        SHELF_SAVE_REACTIONS=",".join(settings.save_reactions),
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    command = [sys.executable, "-m", "bot.cli", "digest", "run", "--dry-run", "--json", "--now", now.isoformat()]
    with tempfile.TemporaryDirectory(prefix="peershelf-bench-recommend-") as cwd:  # no .env of anyone's
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"digest dry run failed ({done.returncode}):\n{done.stderr}")
    digests = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    timings["digest pass (dry run, as a command)"] = time.perf_counter() - started
    return digests


# -- scoring -------------------------------------------------------------------------------------


def item_of(url: str) -> int | None:
    found = ITEM_PATH.search(url)
    return int(found.group(1)) if found else None


def first_five(items: list[int | None], held: set[int]) -> list[int]:
    """In order, once each, without what the person had already shared or saved: the first K."""
    kept: list[int] = []
    for item in items:
        if item is not None and item not in held and item not in kept:
            kept.append(item)
    return kept[:K]


def digest_ranking(digests: list[dict[str, Any]], ws: dict[str, Any], section: str | None = None) -> Ranking:
    visible = ws["visible"]
    ranked = {}
    for digest in digests:
        sections = [s for s in digest["sections"] if section is None or s["title"] == section]
        if not sections:
            continue
        items = [item_of(i["url"]) for s in sections for i in s["items"]]
        ranked[digest["user"]] = first_five(items, set(visible.get(digest["user"], [])))
    return ranked


def scores(ranked: Ranking, ws: dict[str, Any]) -> dict[str, float]:
    savers = [u for u, t in ws["truth"].items() if t]
    reach = 100.0 * sum(1 for u in savers if u in ranked) / len(savers) if savers else 0.0
    return {"hr": recsim.hit_rate(ranked, ws), "recall": recsim.recall(ranked, ws), "reach": reach}


def anchors_in_child(dataset: str, people: int, seed: int) -> tuple[dict[str, Ranking], float]:
    """recsim's anchors for the same workspace (built again, the same for the same seed), timed."""
    started = time.perf_counter()
    ws = recsim.workspace(dataset, people=people, seed=seed)
    return recsim.anchors(ws), time.perf_counter() - started


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def run_seed(dataset: str, people: int, seed: int, pool: ProcessPoolExecutor) -> dict[str, Any]:
    say(f"seed {seed}: building the workspace")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    ws = recsim.workspace(dataset, people=people, seed=seed)
    timings["workspace (recsim)"] = time.perf_counter() - started
    anchored: Future[tuple[dict[str, Ranking], float]] = pool.submit(anchors_in_child, dataset, people, seed)
    digests, counts = replay(ws, timings)
    say(f"seed {seed}: waiting for the anchors")
    waited = time.perf_counter()
    anchors, anchor_seconds = anchored.result()
    timings["anchors (recsim, beside the replay)"] = anchor_seconds
    timings["  waited for after the replay"] = time.perf_counter() - waited
    timings["the seed, start to end"] = time.perf_counter() - started
    visible = ws["visible"]
    rows = {"digest, every section": scores(digest_ranking(digests, ws), ws)}
    picked = digest_ranking(digests, ws, PICKS)
    rows[f'digest, "{PICKS}" alone'] = scores(picked, ws)
    anchor_rows = {
        name: scores({u: first_five(list(r), set(visible.get(u, []))) for u, r in ranked.items()}, ws)
        for name, ranked in anchors.items()
    }
    return {
        "seed": seed,
        "ws": ws,
        "timings": timings,
        "counts": counts,
        "rows": rows,
        "anchors": anchor_rows,
        "picks_seen": bool(picked),
    }


def report(result: dict[str, Any]) -> None:
    ws, seed = result["ws"], result["seed"]
    saves = sum(len(m["reactions"]) for m in ws["messages"])
    savers = sum(1 for t in ws["truth"].values() if t)
    print(f"== seed {seed}: {len(ws['users'])} people, {len(ws['channels'])} channels, {len(ws['messages']):,} links "
          f"shared over {recsim.WEEKS} weeks, {saves:,} saves before the digest; {savers} people save something "
          f"shared in the last week after it")  # fmt: skip
    counts = result["counts"]
    print(f"database: {counts.pop('database')}")
    slots = ", ".join(counts.pop("slots")) or "none"
    print(f"digest instant: {datetime.fromtimestamp(ws['now'], UTC):%A %Y-%m-%d %H:%M} UTC; the digests' slot: {slots}")
    print("imported and read: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()))
    for step, seconds in result["timings"].items():
        print(f"  {step:<45} {seconds:7.1f} s")
    print(f"  {'ranking (first five, less what each had)':<45} {'HR@5':>7} {'recall@5':>9} {'reach':>7}")
    for name, row in result["rows"].items():
        print(f"  {name:<45} {row['hr']:6.1f}% {row['recall']:8.1f}% {row['reach']:6.1f}%")
    if not result["picks_seen"]:
        print(f'  (no digest has a "{PICKS}" section yet)')
    for name, row in result["anchors"].items():
        print(f"  {'anchor: ' + name:<45} {row['hr']:6.1f}% {row['recall']:8.1f}%")
    hr = result["rows"]["digest, every section"]["hr"]
    best, top = max(result["anchors"].items(), key=lambda kv: kv[1]["hr"])
    pop = result["anchors"]["popularity"]["hr"]
    print(f"  digest HR@5 / best anchor ({best}, {top['hr']:.1f}%): {ratio(hr, top['hr'])}; "
          f"/ popularity ({pop:.1f}%): {ratio(hr, pop)}; reach {result['rows']['digest, every section']['reach']:.1f}% "
          f"(aim: {REACH_AIM:.0f}%)")  # fmt: skip
    print(flush=True)


def summary(results: list[dict[str, Any]]) -> None:
    head = ("seed", "HR@5", "recall@5", "reach", "picks HR@5", "popularity", "best anchor", "/best", "/pop", "seconds")
    print(f"== summary over {len(results)} seed(s)")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    lines = []
    for r in results:
        digest, picks = r["rows"]["digest, every section"], r["rows"][f'digest, "{PICKS}" alone']
        best, top = max(r["anchors"].items(), key=lambda kv: kv[1]["hr"])
        pop = r["anchors"]["popularity"]["hr"]
        line = [digest["hr"], digest["recall"], digest["reach"], picks["hr"], pop, top["hr"]]
        lines.append(line)
        wall = r["timings"]["the seed, start to end"]
        print(f"| {r['seed']} | " + " | ".join(f"{x:.1f}%" for x in line[:5]) + f" | {top['hr']:.1f}% ({best}) | "
              f"{ratio(line[0], top['hr'])} | {ratio(line[0], pop)} | {wall:.0f} |")  # fmt: skip
    if len(lines) > 1:
        means = [mean(column) for column in zip(*lines, strict=True)]
        print("| mean | " + " | ".join(f"{x:.1f}%" for x in means[:5]) + f" | {means[5]:.1f}% | "
              f"{ratio(means[0], means[5])} | {ratio(means[0], means[4])} | |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", metavar="DATASET_DIR", help="the citeulike-format directory (users.dat, mult.dat…)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], metavar="S")
    parser.add_argument("--people", type=int, default=200, metavar="N")
    args = parser.parse_args()
    needed = ("users.dat", "mult.dat", "vocabulary.dat")
    missing = [name for name in needed if not (Path(args.dataset) / name).is_file()]
    if missing:
        parser.error(f"{args.dataset}: no {', '.join(missing)} there (a citeulike-format directory is needed)")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(f"dataset: {Path(args.dataset).resolve()} (citeulike-t, Wang, Chen & Li, IJCAI 2013); "
          f"{args.people} people a workspace; seeds {' '.join(map(str, args.seeds))}\n")  # fmt: skip
    results = []
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for seed in args.seeds:
            result = run_seed(args.dataset, args.people, seed, pool)
            report(result)
            results.append(result)
    summary(results)


if __name__ == "__main__":
    main()
