"""What `peershelf digest run` from cron costs when nothing is due: CPU seconds per run.

    python bench/digest_idle.py [--people 200] [--runs 10]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/digest_idle.py

A throw-away workspace (bench/scratch.py) whose people all had this week's digest, and a local
fake Slack. Each run is the real command in a new process, as cron starts it; its CPU time (user +
system) is the operating system's accounting of the finished child. Two cases, run in turn:
"recorded" is the normal one, where the last full pass recorded when anything can next be due;
"full look" clears that record before each run, so the command does what it did before there was
one (migrations checked, Slack asked who the token is, every person's slot worked out).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import describe, scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.demo.fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.models import Interest, Item, Save, Share  # noqa: E402

WEDNESDAY = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PEERSHELF = str(Path(sys.executable).parent / "peershelf")


def fill(url: str, people: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    month_ago = WEDNESDAY - timedelta(days=30)
    with session_factory(engine)() as session:
        items = [
            Item(
                team_id=TEAM_ID,
                canonical_url=f"https://example.com/{n}",
                url=f"https://example.com/{n}",
                title=f"Notes on leadership {n}",
                is_public=True,
                fetch_state="done",
                created_at=WEDNESDAY - timedelta(days=n % 6),
                updated_at=WEDNESDAY,
            )  # fmt: skip
            for n in range(people)
        ]
        session.add_all(items)
        session.flush()
        for n, item in enumerate(items):
            user = f"U{n:08d}"
            session.add(Share(team_id=TEAM_ID, item_id=item.id, user_id=f"U{(n + 1) % people:08d}", channel_id="C1",
                              channel_type="channel", message_ts=f"1.{n}", shared_at=item.created_at))  # fmt: skip
            session.add(Save(team_id=TEAM_ID, user_id=user, item_id=item.id, saved_at=month_ago))
            session.add(Interest(team_id=TEAM_ID, user_id=user, topic="leadership", created_at=month_ago))
        session.commit()
    engine.dispose()


def cpu_seconds(env: dict[str, str]) -> float:
    process = subprocess.Popen(
        [PEERSHELF, "digest", "run", "--now", WEDNESDAY.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read().decode() if process.stdout else ""
    if status != 0 or "sent 0 digests" not in output:
        raise SystemExit(f"digest run did not find nothing due (status {status}): {output}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    slack = FakeSlack().start()
    for n in range(args.people):
        slack.add_user(f"U{n:08d}", f"Person {n}", tz="Europe/Berlin")
    try:
        with scratch_database("digest_idle") as url:
            fill(url, args.people)
            env = {
                **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
                "DATABASE_URL": url,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_API_URL": slack.api_url,
                "LOG_LEVEL": "WARNING",
            }
            first = subprocess.run(
                [PEERSHELF, "digest", "run", "--now", WEDNESDAY.isoformat()], env=env, capture_output=True, text=True
            )
            print(f"{describe(url)}; {args.people} people; first pass: {first.stdout.strip()}")
            cpu_seconds(env)  # finds nothing left, and records when to look again
            engine = make_engine(url)
            recorded, full = [], []
            for _ in range(args.runs):
                recorded.append(cpu_seconds(env))
                with engine.begin() as connection:
                    connection.execute(text("DELETE FROM digest_schedule"))
                full.append(cpu_seconds(env))  # this run records again, for the next "recorded" run
            engine.dispose()
    finally:
        slack.stop()
    for name, figures in (("recorded", recorded), ("full look", full)):
        print(
            f"{name:10} CPU s per run: median {statistics.median(figures):.3f}  "
            f"min {min(figures):.3f}  max {max(figures):.3f}  ({len(figures)} runs)"
        )


if __name__ == "__main__":
    main()
