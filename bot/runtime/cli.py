"""The `peershelf` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot import __version__
from bot.settings import MissingCredentials, Settings, SettingsError
from storage import migrate

logger = logging.getLogger("peershelf")


class Stop(Exception):
    """Ends the command with one line for the person at the terminal and an exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise Stop(f"bad setting {error}", status=2) from None


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _upgrade(settings: Settings) -> None:
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "no answer"
        raise Stop(f"cannot reach the database at DATABASE_URL={_safe_url(settings.database_url)}: {reason}") from None
    finally:
        engine.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    _upgrade(settings)
    print(f"database {_safe_url(settings.database_url)} is at revision {migrate.head_revision()} (newest)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    http = args.http or not settings.socket_mode
    try:
        settings.require_credentials(http=http)
    except MissingCredentials as error:
        raise Stop(str(error), status=2) from None
    _upgrade(settings)

    from bot.runtime.app import create_app
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
    from bot.runtime.scheduler import Scheduler, default_jobs
    from bot.runtime.workers import WorkerPool

    Scheduler(default_jobs(services)).start()
    WorkerPool(services).start()  # reads shared pages in the background, from the durable queue

    if not http:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        logger.info("connecting to Slack in Socket Mode")
        SocketModeHandler(app, settings.slack_app_token).start()
        return 0

    import uvicorn

    from bot.runtime.server import build_asgi

    port = args.port if args.port is not None else int(os.environ.get("PORT", "3000"))
    logger.info("serving HTTP on %s:%s", args.host, port)
    uvicorn.run(build_asgi(app, services), host=args.host, port=port, proxy_headers=True, log_level="info")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from bot.reading.fetcher import fetcher_for
    from bot.reading.inspection import as_json, as_text, inspect_all
    from bot.reading.topics import load_taxonomy

    files = [s for s in args.sources if not s.lower().startswith(("http://", "https://"))]
    if args.url is not None and (len(args.sources) != 1 or len(files) != 1):
        raise Stop("--url gives the address one saved file came from: name exactly one FILE.html", status=2)
    settings = _settings()
    fetcher = fetcher_for(settings)
    several = len(args.sources) > 1
    failed = False
    try:
        taxonomy = load_taxonomy(settings.topics_file)
        for found in inspect_all(args.sources, fetcher=fetcher, saved_from=args.url, taxonomy=taxonomy):
            failed = failed or "error" in found
            print(as_json(found, with_source=several) if args.json else as_text(found), flush=True)
    finally:
        fetcher.close()
    return 1 if failed else 0


def cmd_feeds_poll(args: argparse.Namespace) -> int:
    from bot.runtime.scheduler import poll_feeds
    from bot.services import Services

    settings = _settings()
    _upgrade(settings)
    added = poll_feeds(Services.from_settings(settings))
    print(f"polled the feeds that were due; {added} new entries added to lists")
    return 0


def cmd_digest_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.runtime.scheduler import run_digests
    from bot.services import Services
    from bot.slack.render import blocks_to_text

    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        except ValueError:
            raise Stop(f"--now {args.now!r} is not an ISO-8601 date and time (e.g. 2026-11-30T09:00:00Z)", 2) from None
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    settings = _settings()
    if not args.dry_run:
        try:
            settings.require_credentials(http=False)
        except MissingCredentials as error:
            raise Stop(str(error), status=2) from None
    _upgrade(settings)
    services = Services.from_settings(settings)
    try:
        results = run_digests(services, now=now, dry_run=args.dry_run)
    except (SlackApiError, SlackClientError, OSError) as error:
        raise Stop(f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url}: {error}") from None
    for result in results:
        for user_id, _text, shown in result.previews:
            print(f"--- digest for {user_id}\n{blocks_to_text(shown)}\n")
    sent = sum(r.sent for r in results)
    skipped = sum(r.skipped for r in results)
    failed = sum(r.failed for r in results)
    verb = "would send" if args.dry_run else "sent"
    print(f"{verb} {sent} digests; {skipped} empty (skipped); {failed} failed (retried next pass)")
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo.week import run_demo

    # The story is the output; the app's own logs would drown it.
    logging.getLogger().setLevel(logging.WARNING)

    def pause() -> None:
        input("\n[Enter] for the next scene… ")

    run_demo(print, step=args.step, pause=pause)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peershelf", description="Peershelf, peer-to-peer learning in Slack.")
    parser.add_argument("--version", action="version", version=f"peershelf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    run.add_argument("--http", action="store_true", help="serve HTTP even when SLACK_APP_TOKEN is set")
    run.add_argument("--port", type=int, default=None, help="HTTP port (default: $PORT, else 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP address to listen on (default: 0.0.0.0)")
    run.set_defaults(func=cmd_run)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    digest = commands.add_parser("digest", help="weekly digests")
    digest_commands = digest.add_subparsers(dest="digest_command", required=True, metavar="COMMAND")
    digest_run = digest_commands.add_parser("run", help="send every digest due now and not yet sent (safe from cron)")
    digest_run.add_argument("--now", help="act as if at this ISO-8601 instant")
    digest_run.add_argument("--dry-run", action="store_true", help="print the digests instead of sending them")
    digest_run.set_defaults(func=cmd_digest_run)

    demo = commands.add_parser("demo", help="an offline walk-through of a week with Peershelf (no Slack needed)")
    demo.add_argument("--step", action="store_true", help="pause between scenes")
    demo.set_defaults(func=cmd_demo)

    feeds = commands.add_parser("feeds", help="RSS/Atom feeds that lists follow")
    feeds_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="COMMAND")
    feeds_commands.add_parser("poll", help="poll every feed that is due (each at most hourly)").set_defaults(
        func=cmd_feeds_poll
    )

    inspect = commands.add_parser("inspect", help="what Peershelf would record for a page (URL or saved .html file)")
    inspect.add_argument("sources", nargs="+", metavar="URL|FILE.html")
    inspect.add_argument("--url", help="the address a saved FILE.html came from")
    inspect.add_argument("--json", action="store_true", help="print JSON (JSON Lines for several inputs)")
    inspect.set_defaults(func=cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Stop as stop:
        print(f"peershelf: {stop}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
