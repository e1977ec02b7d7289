"""The `peershelf` command line.

Every command reads its settings from the environment, then from `.env` in the working
directory (the environment wins), and stops with one line naming a bad one. Modules a command
needs are imported by that command, so `peershelf --help` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from bot import __version__
from bot.settings import MissingCredentials, Settings, SettingsError

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine

    from bot.reading.topics import Colleagues, Taxonomy
    from bot.services import Services
    from bot.services.backfill import Tally

logger = logging.getLogger("peershelf")
T = TypeVar("T")

SETTINGS_NOTE = "Settings come from the environment, then from .env in the working directory (see .env.example)."


class Stop(Exception):
    """Ends the command with one line for the person at the terminal and an exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise Stop(f"bad setting {error}", status=2) from None
    logging.getLogger().setLevel(settings.log_level)
    return settings


def _require(settings: Settings, serve: str) -> None:
    try:
        settings.require_credentials(serve=serve)
    except MissingCredentials as error:
        raise Stop(str(error), status=2) from None


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _database(settings: Settings, action: Callable[[Engine], T]) -> T:
    """Run `action` (a migration step) on DATABASE_URL and return what it returns, or stop with one
    line if the database cannot be reached."""
    from sqlalchemy.exc import OperationalError

    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        return action(engine)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "no answer"
        raise Stop(f"cannot reach the database at DATABASE_URL={_safe_url(settings.database_url)}: {reason}") from None
    finally:
        engine.dispose()


def _upgrade(settings: Settings) -> None:
    from storage import migrate

    _database(settings, migrate.upgrade)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage import migrate

    settings = _settings()
    _upgrade(settings)
    print(f"database {_safe_url(settings.database_url)} is at revision {migrate.head_revision()} (newest)")
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    from storage import migrate

    settings = _settings()
    _upgrade(settings)  # the new migration is what the models add to the newest schema
    written = _database(settings, lambda engine: migrate.revision(engine, args.message))
    if written is None:
        print("the models and the database agree: no migration written")
        return 0
    print(f"wrote {written}: read it through before committing it")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    http = args.http or not settings.socket_mode
    _require(settings, "http" if http else "socket")
    _upgrade(settings)

    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.runtime.app import create_app
    from bot.runtime.background import WorkerProcess
    from bot.runtime.heartbeat import Heartbeat
    from bot.services import Services
    from bot.slack.client import web_client
    from storage.workspaces import upsert_workspace

    services = Services.from_settings(settings)
    if settings.slack_bot_token is not None:
        try:
            identity = web_client(settings).auth_test()
        except SlackApiError as error:
            raise Stop(f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')}); check it in .env") from None
        except (SlackClientError, OSError) as error:
            raise Stop(f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url}: {error}") from None
        with services.new_session() as session:
            upsert_workspace(
                session=session,
                team_id=identity["team_id"],
                name=identity.get("team"),
                bot_user_id=identity.get("user_id"),
                url=identity.get("url"),
                now=services.clock(),
            )
        logger.info("serving workspace %s (%s)", identity.get("team"), identity["team_id"])
    app = create_app(services)
    heartbeat = Heartbeat(services).start()  # the recommendation DMs this process sends are claimed (storage.claims)
    # Capturing queued messages, page reading, feeds, digests and notices run in a worker process,
    # so they never compete with Slack's acks for this process's time.
    worker = None if args.no_worker else WorkerProcess()
    if worker is None:
        logger.info(
            "no worker started (--no-worker): run `peershelf worker` to capture shared links, read pages, "
            "poll feeds and send digests"
        )
    else:
        worker.start()
    try:
        if not http:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            logger.info("connecting to Slack in Socket Mode")
            SocketModeHandler(app, settings.slack_app_token).start()
            return 0

        import uvicorn

        from bot.runtime.server import build_asgi

        port = args.port if args.port is not None else settings.port
        logger.info("serving HTTP on %s:%s", args.host, port)
        uvicorn.run(
            build_asgi(app, services),
            host=args.host,
            port=port,
            proxy_headers=True,
            log_level=settings.log_level.lower(),
        )
        return 0
    finally:
        if worker is not None:
            worker.stop()
        heartbeat.stop()


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    _require(settings, "cron")
    _upgrade(settings)

    from bot.runtime.background import serve
    from bot.services import Services
    from storage.db import yield_to_acks

    services = Services.from_settings(settings)
    yield_to_acks(services.engine)  # on SQLite, leave Slack's acks gaps to write in
    serve(services, parent=args.parent)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from bot.reading.inspection import as_json, as_text, inspect_all
    from bot.reading.topics import load_taxonomy

    files = [s for s in args.sources if not s.lower().startswith(("http://", "https://"))]
    if args.url is not None and (len(args.sources) != 1 or len(files) != 1):
        raise Stop("--url gives the address one saved file came from: name exactly one FILE.html", status=2)
    settings = _settings()
    fetcher = settings.fetcher() if len(files) < len(args.sources) else None  # saved files need no fetcher
    several = len(args.sources) > 1
    failed = False
    from bot.progress import progress

    bar = progress("pages", total=len(args.sources), unit="pages", quiet=args.json or not several)
    try:
        taxonomy = load_taxonomy(settings.topics_file)
        colleagues = _colleagues(settings, taxonomy, args.team) if args.team else None
        for found in inspect_all(
            args.sources, fetcher=fetcher, saved_from=args.url, taxonomy=taxonomy, colleagues=colleagues
        ):
            failed = failed or "error" in found
            bar.write(as_json(found, with_source=several) if args.json else as_text(found))
            bar.update(1)
    finally:
        bar.close()
        if fetcher is not None:
            fetcher.close()
    return 1 if failed else 0


def _colleagues(settings: Settings, taxonomy: Taxonomy, team: str) -> Colleagues:
    """What a workspace's /shelf tag and untag corrections taught the tagger, read from the database."""
    from sqlmodel import Session

    from bot.services.tagging import colleagues

    _upgrade(settings)

    def read(engine: Engine) -> Colleagues:
        with Session(engine) as session:
            return colleagues(session, taxonomy, team)

    return _database(settings, read)


def cmd_feeds_poll(args: argparse.Namespace) -> int:
    from bot.services import Services
    from bot.services.feeds import poll_feeds

    settings = _settings()
    _upgrade(settings)
    from bot.progress import progress
    from bot.runtime.heartbeat import Heartbeat

    services = Services.from_settings(settings)
    bar = progress("feeds", total=0, unit="feeds")
    with Heartbeat(services):  # a poll that dies midway leaves its feeds to the next one at once
        try:
            added = poll_feeds(services, progress=bar)
        finally:
            bar.close()
    print(f"polled the feeds that were due; {added} new entries added to lists")
    return 0


def cmd_digest_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    if args.json and not args.dry_run:
        args.parser.error("--json prints the digests a dry run would send: use it with --dry-run")
    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        except ValueError:
            raise Stop(f"--now {args.now!r} is not an ISO-8601 date and time (e.g. 2026-11-30T09:00:00Z)", 2) from None
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    settings = _settings()
    if not args.dry_run:
        _require(settings, "cron")
        # The common case from cron: nothing due until a recorded instant. One query answers it,
        # before the ORM, the migrations and the Slack client are imported.
        from storage.peek import recorded as recorded_at

        recorded = recorded_at(settings.database_url, settings.digest_basis())
        if recorded is not None and (now or datetime.now(UTC)) < recorded.next_at:
            print(f"sent 0 digests; none due before {recorded.next_at:%Y-%m-%d %H:%M} UTC")
            return 0
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.services import Services
    from bot.services.digests.delivery import as_record, run_digests
    from bot.slack.render import blocks_to_text

    _upgrade(settings)
    from bot.progress import progress
    from bot.runtime.heartbeat import Heartbeat

    services = Services.from_settings(settings)
    bar = progress("digests", total=0, unit="people", quiet=args.json)
    try:
        with Heartbeat(services):  # a pass that dies midway leaves its digests to the next one at once
            results = run_digests(services, now=now, dry_run=args.dry_run, progress=bar)
    except (SlackApiError, SlackClientError, OSError) as error:
        raise Stop(f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url}: {error}") from None
    finally:
        bar.close()
    if args.json:  # JSON Lines alone on stdout, one digest a line, for scripts
        import json

        for result in results:
            for digest in result.digests:
                print(json.dumps(as_record(result.team_id or "", digest), ensure_ascii=False))
        return 0
    for result in results:
        for user_id, _text, shown in result.previews:
            print(f"--- digest for {user_id}\n{blocks_to_text(shown)}\n")
    sent = sum(r.sent for r in results)
    skipped = sum(r.skipped for r in results)
    failed = sum(r.failed for r in results)
    verb = "would send" if args.dry_run else "sent"
    print(f"{verb} {sent} digests; {skipped} empty (skipped); {failed} failed (retried next pass)")
    return 1 if failed else 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.services.backfill import DEFAULT_DAYS, since_argument

    try:
        since = since_argument(args.since or str(DEFAULT_DAYS), now=datetime.now(UTC))
    except ValueError as error:
        raise Stop(f"--since {args.since!r}: use {error}", 2) from None
    for channel in args.channel or []:
        if not re.fullmatch(r"C[A-Z0-9]{2,31}", channel):
            raise Stop(f"--channel {channel!r} is not a public channel ID (they look like C0123ABCD)", 2)
    settings = _settings()
    _require(settings, "cron")
    _upgrade(settings)
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.runtime.heartbeat import Heartbeat
    from bot.services import Services
    from bot.services.lookups import workspaces
    from bot.text import counted

    services = Services.from_settings(settings)
    try:
        with Heartbeat(services):  # an import this process stops holding is taken over by a worker
            teams = workspaces(services)
            if args.team:
                if args.team not in teams:
                    raise Stop(f"--team {args.team}: Peershelf does not serve that workspace", 2)
                teams = [args.team]
            tallies = []
            for team_id in teams:
                tallies += _backfill_team(services, team_id, args.channel, since)
    except (SlackApiError, SlackClientError, OSError) as error:
        raise Stop(f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url}: {error}") from None
    for tally in tallies:
        name = f"#{tally.name}" if tally.name else tally.channel_id
        problem = f" ({tally.problem})" if tally.problem else ""
        print(
            f"{name}: {tally.state}{problem}; {tally.messages} messages read, {tally.links} links, {tally.saves} saves"
        )
    print(
        f"imported {sum(t.links for t in tallies)} links and {sum(t.saves for t in tallies)} saves from "
        f"{sum(t.messages for t in tallies)} messages in {counted(sum(t.state == 'done' for t in tallies), 'channel')}"
    )
    return 1 if any(t.state == "failed" for t in tallies) else 0


def _backfill_team(services: Services, team_id: str, channel_ids: list[str] | None, since: datetime) -> list[Tally]:
    from bot.progress import progress
    from bot.services.backfill import LEASE, Backfiller, Pacer, Tally, days_covered, span_days
    from bot.slack.client import client_for_team
    from storage import backfills

    client = client_for_team(services.settings, services.engine, team_id)
    if client is None:
        return []
    backfiller = Backfiller(services, client, team_id, Pacer(services.settings.history_per_minute))
    channels: list[tuple[str, str | None]] = (
        [(c, None) for c in channel_ids] if channel_ids else backfiller.public_channels()
    )
    rows, tallies = backfiller.plan(channels, since=since)
    with services.new_session() as session:
        mine = backfills.claim(
            session=session, ids=[r.id or 0 for r in rows], now=services.clock(), lease=LEASE, holder=services.holder
        )
    held = {r.id or 0 for r in mine}
    tallies += [Tally(r.channel_id, r.name, state="running", problem="being imported by another process")
                for r in rows if r.id not in held]  # fmt: skip
    # Measured in days of history read, which gives an ETA: how many messages a channel holds is
    # unknown until it is read, its span is not.
    bar = progress("history", total=round(sum(span_days(r) for r in mine)), unit="days")
    shown: dict[str, int] = {}
    read_so_far: dict[str, int] = {}
    rows_by_channel = {r.channel_id: r for r in mine}

    def on_page(tally: Tally, read: int) -> None:
        read_so_far[tally.channel_id] = read_so_far.get(tally.channel_id, 0) + read
        bar.note(f"#{tally.name or tally.channel_id}, {read_so_far[tally.channel_id]:,} messages")
        days = round(days_covered(rows_by_channel[tally.channel_id], tally.reached_ts))
        bar.update(days - shown.get(tally.channel_id, 0))
        shown[tally.channel_id] = days

    backfiller.on_page = on_page
    try:
        for row in mine:
            tallies.append(backfiller.run(row))
    except KeyboardInterrupt:
        with services.new_session() as session:
            backfills.release(session=session, row_ids=list(held))
        raise Stop("interrupted; run the same command again to go on where it stopped", 130) from None
    finally:
        bar.close()
    return tallies


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    if not 1 <= args.weeks <= 104:
        raise Stop(f"--weeks {args.weeks}: use a number of weeks from 1 to 104", 2)
    target = Path(args.html)
    if not target.parent.is_dir():
        raise Stop(f"--html {args.html}: no folder {target.parent} to write it in", 2)
    settings = _settings()
    _upgrade(settings)
    from bot.services import Services
    from bot.services.report import report_html
    from storage.workspaces import installed_workspaces

    services = Services.from_settings(settings)
    team_id = args.team
    if team_id is None:
        with services.new_session() as session:
            served = [w.team_id for w in installed_workspaces(session=session)]
        if len(served) != 1:
            known = ", ".join(served) or "none yet"
            raise Stop(f"name the workspace with --team (workspaces here: {known})", 2)
        team_id = served[0]
    target.write_text(report_html(services, team_id=team_id, weeks=args.weeks), encoding="utf-8")
    print(f"wrote {target}: {args.weeks} weeks of workspace {team_id}")
    return 0


def cmd_workspace_forget(args: argparse.Namespace) -> int:
    from bot.services import Services
    from bot.services.leaving import forget
    from bot.text import counted

    team_id = args.team_id.strip()
    if not re.fullmatch(r"[TE][A-Z0-9]{2,31}", team_id):
        raise Stop(f"{args.team_id!r} is not a Slack workspace ID (they look like T0123ABCD)", 2)
    settings = _settings()
    _upgrade(settings)
    deleted = forget(Services.from_settings(settings), team_id)
    if not deleted:
        print(f"nothing kept for workspace {team_id}; nothing deleted")
    else:
        print(f"forgot workspace {team_id}: {counted(deleted, 'row')} deleted")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo.week import run_demo

    # The story is the output; the app's own logs would drown it.
    logging.getLogger().setLevel(logging.WARNING)
    interactive = {"on": args.step}

    def pause() -> None:
        if not interactive["on"]:
            return
        try:
            input("\n[Enter] for the next scene… ")
        except EOFError:  # nobody at the keyboard (input from a file or /dev/null): play on
            interactive["on"] = False
            print()

    run_demo(print, step=args.step, pause=pause)
    return 0


def _command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    summary: str,
    description: str,
    func: Callable[[argparse.Namespace], int] | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=SETTINGS_NOTE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peershelf",
        description="Peershelf keeps the links, videos and books colleagues share in Slack, and helps people "
        "learn from them. `peershelf COMMAND --help` says what a command does and which settings it reads.",
        epilog=SETTINGS_NOTE,
    )
    parser.add_argument("--version", action="version", version=f"peershelf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = _command(
        commands,
        "run",
        "start the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)",
        "Start Peershelf: apply database migrations, connect to Slack, and start a worker process beside this "
        "one that captures shared links, reads their pages, sends digests and polls feeds on its own clock "
        "(see `worker`).\n\n"
        "Reads every setting: SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth, "
        "several workspaces, HTTP only), SLACK_SIGNING_SECRET (HTTP), SLACK_APP_TOKEN (Socket Mode), "
        "DATABASE_URL, PORT, LOG_LEVEL and the SHELF_* settings.",
        cmd_run,
    )
    run.add_argument("--http", action="store_true", help="serve HTTP even when SLACK_APP_TOKEN is set")
    run.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT, else 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP address to listen on (default: 0.0.0.0)")
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="serve Slack only; capturing links, pages, feeds and digests are left to `peershelf worker` processes",
    )

    worker = _command(
        commands,
        "worker",
        "the background work alone: captures, pages, feeds, digests, recommendation DMs and notices",
        "Capture the links of the messages the web process queued, read shared pages, poll feeds, send "
        "digests, recommendation DMs and notices, serving no Slack "
        "requests. `peershelf run` starts one beside itself unless --no-worker; any number may run, on any "
        "machines sharing one PostgreSQL database: each piece of work is claimed, and work a stopped worker "
        "held is taken over within a minute.\n\n"
        "Reads SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), SLACK_API_URL, DATABASE_URL, "
        "LOG_LEVEL and the SHELF_* settings.",
        cmd_worker,
    )
    worker.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)

    db = _command(commands, "db", "database maintenance", "Database maintenance on DATABASE_URL.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    _command(
        db_commands,
        "upgrade",
        "apply migrations",
        "Bring the database at DATABASE_URL to the newest schema (`peershelf run` does this at start).",
        cmd_db_upgrade,
    )
    revision = _command(
        db_commands,
        "revision",
        "write a migration for a change to storage/models.py",
        "For developers: compare storage/models.py with the database at DATABASE_URL (brought to the newest "
        "schema first) and write the difference as a new migration in storage/migrations/versions.",
        cmd_db_revision,
    )
    revision.add_argument("message", help='what the migration does, e.g. "add list descriptions"')

    digest = _command(commands, "digest", "weekly digests", "Weekly digests.")
    digest_commands = digest.add_subparsers(dest="digest_command", required=True, metavar="COMMAND")
    digest_run = _command(
        digest_commands,
        "run",
        "send every digest due now and not yet sent (safe from cron)",
        "Send every weekly digest whose slot has passed this week and that is not sent yet, in every workspace "
        "served: the bot token's, or every OAuth installation. Safe to run as often as you like, from several "
        "machines: nobody gets two digests a week.\n\n"
        "Reads SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), SLACK_API_URL, DATABASE_URL, "
        "SHELF_DIGEST_DAY, SHELF_DIGEST_TIME and LOG_LEVEL.",
        cmd_digest_run,
    )
    digest_run.add_argument("--now", help="act as if at this ISO-8601 instant")
    digest_run.add_argument("--dry-run", action="store_true", help="print the digests instead of sending them")
    digest_run.add_argument(
        "--json",
        action="store_true",
        help="with --dry-run: print JSON Lines, one digest a line (team, user, slot, sections with their items)",
    )
    digest_run.set_defaults(parser=digest_run)

    backfill = _command(
        commands,
        "backfill",
        "capture links shared before Peershelf was installed",
        "Read the history (and thread replies) of the public channels the bot is in, and capture each link as "
        "if its message had arrived then: its sharer, channel, time and permalink; save-emoji reactions on those "
        "messages become saves. A second run adds nothing; an interrupted one goes on where it stopped. Calls "
        "to Slack are paced at SHELF_HISTORY_PER_MINUTE with SHELF_HISTORY_PAGE_SIZE messages a page.\n\n"
        "Reads SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), SLACK_API_URL, DATABASE_URL, "
        "SHELF_HISTORY_PER_MINUTE, SHELF_HISTORY_PAGE_SIZE, SHELF_SAVE_REACTIONS, SHELF_IGNORE_CHANNELS, "
        "SHELF_CAPTURE_BOTS, SHELF_TOPICS_FILE and LOG_LEVEL.",
        cmd_backfill,
    )
    backfill.add_argument("--channel", nargs="+", metavar="C", help="only these channels (IDs like C0123ABCD)")
    backfill.add_argument("--since", metavar="DAYS|YYYY-MM-DD", help="how far back (default: 90 days)")
    backfill.add_argument("--team", metavar="T", help="only this workspace (OAuth mode serves several)")

    report = _command(
        commands,
        "report",
        "an HTML page of what the workspace learns, with charts",
        "Write one self-contained HTML page (charts inline, no network needed to open it) for the people who "
        "run learning programmes: shares, saves and recommendations per week; topics rising and falling; the "
        "most recommended items; the most subscribed lists and their curators; how many people take part. "
        "Only public activity counts, and nothing shared privately is named.\n\nReads DATABASE_URL and LOG_LEVEL.",
        cmd_report,
    )
    report.add_argument("--html", required=True, metavar="FILE", help="where to write the page")
    report.add_argument("--weeks", type=int, default=12, metavar="N", help="how many weeks, this one included (12)")
    report.add_argument("--team", metavar="T", help="the workspace (needed when the database holds several)")

    workspace = _command(commands, "workspace", "workspaces served", "Workspaces Peershelf serves.")
    workspace_commands = workspace.add_subparsers(dest="workspace_command", required=True, metavar="COMMAND")
    forget = _command(
        workspace_commands,
        "forget",
        "delete every row of one workspace now",
        "Delete everything Peershelf keeps of one workspace (items, shares, saves, lists, people, settings, its "
        "installation), in every table, now. The same happens on its own SHELF_FORGET_AFTER_DAYS after the app "
        "is uninstalled or its token revoked. There is no undo.\n\nReads DATABASE_URL and LOG_LEVEL.",
        cmd_workspace_forget,
    )
    forget.add_argument("team_id", metavar="TEAM_ID", help="the workspace's ID, like T0123ABCD")

    demo = _command(
        commands,
        "demo",
        "an offline walk-through of a week with Peershelf (no Slack needed)",
        "Play a scripted week in a small workspace against Peershelf's own fake Slack, on a throw-away SQLite "
        "file, and print what each person would see. No network, no tokens, and no setting is read.",
        cmd_demo,
    )
    demo.add_argument("--step", action="store_true", help="pause between scenes (press Enter to go on)")

    feeds = _command(commands, "feeds", "RSS/Atom feeds that lists follow", "RSS/Atom feeds that lists follow.")
    feeds_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="COMMAND")
    _command(
        feeds_commands,
        "poll",
        "poll every feed that is due (each at most hourly)",
        "Add the new entries of every feed that is due to its list (each feed at most hourly, with conditional "
        "requests). Needs no Slack credentials.\n\n"
        "Reads DATABASE_URL, SHELF_FETCH_TIMEOUT, SHELF_FETCH_MAX_BYTES, SHELF_FETCH_ALLOW_PRIVATE, "
        "SHELF_TOPICS_FILE and LOG_LEVEL.",
        cmd_feeds_poll,
    )

    inspect = _command(
        commands,
        "inspect",
        "what Peershelf would record for a page (URL or saved .html file)",
        "Print what Peershelf would record for a page: canonical URL, kind, title, description, author, site, "
        "date, image, language, length, ISBN, and the topics with the words behind each. A URL is fetched "
        "with the bot's own safe fetcher. Attach the --json output to a bug report.\n\n"
        "Reads SHELF_TOPICS_FILE, SHELF_FETCH_TIMEOUT, SHELF_FETCH_MAX_BYTES and SHELF_FETCH_ALLOW_PRIVATE.",
        cmd_inspect,
    )
    inspect.add_argument("sources", nargs="+", metavar="URL|FILE.html")
    inspect.add_argument("--url", help="the address a saved FILE.html came from")
    inspect.add_argument("--json", action="store_true", help="print JSON (JSON Lines for several inputs)")
    inspect.add_argument("--team", help="apply this workspace's tag corrections (reads DATABASE_URL)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin at every import
    args = build_parser().parse_args(argv)
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # here, so that a reader gone away is noticed below
        return status
    except Stop as stop:
        print(f"peershelf: {stop}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`peershelf demo | head`): stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
