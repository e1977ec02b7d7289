"""The `peershelf` command as an admin runs it: clear one-line errors, and a real HTTP server."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import APP_TOKEN, BOT_TOKEN, FakeSlack
from storage.db import make_engine
from storage.models import Workspace
from tests.conftest import SIGNING_SECRET
from tests.helpers import wait_for
from tests.pageserver import PageServer

PEERSHELF = str(Path(sys.executable).parent / "peershelf")


def clean_env(**variables: str) -> dict[str, str]:
    """Only what a shell would have, plus `variables`: no Slack settings leak in from the test run."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {**keep, **variables}


def peershelf(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PEERSHELF, *args], cwd=cwd, env=clean_env(**variables), capture_output=True, text=True, timeout=60
    )


def test_run_without_credentials_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    result = peershelf("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "peershelf: SLACK_BOT_TOKEN is not set: Peershelf needs the xoxb- bot token of your Slack app "
        "(or OAuth client settings) (see 'Set up' in README.md)"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_run_with_a_bad_setting_names_it_and_exits(tmp_path: Path) -> None:
    result = peershelf("run", cwd=tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SHELF_DIGEST_DAY="someday")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "peershelf: bad setting SHELF_DIGEST_DAY='someday': not a weekday (use mon, tue, wed, thu, fri, sat or sun)"
    )


def test_settings_are_read_from_dotenv_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nSHELF_DIGEST_TIME=25:00\n")
    result = peershelf("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "SHELF_DIGEST_TIME='25:00'" in result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = peershelf("db", "upgrade", cwd=tmp_path, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("peershelf: cannot reach the database at DATABASE_URL=postgresql+psycopg://")


def test_run_with_a_token_slack_refuses_says_so(tmp_path: Path, slack: FakeSlack) -> None:
    result = peershelf(
        "run",
        cwd=tmp_path,
        SLACK_BOT_TOKEN="xoxb-revoked",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'shelf.db'}",
    )
    assert result.returncode == 1
    assert result.stderr.strip().endswith("peershelf: Slack refused SLACK_BOT_TOKEN (invalid_auth); check it in .env")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def bot_process(tmp_path: Path, *args: str, **variables: str) -> Iterator[tuple[str, Path]]:
    """`peershelf run --http` on a free port (given by PORT, unless `args` say otherwise), until it
    answers /healthz; yields its URL and the file its output goes to."""
    port = free_port()
    log = tmp_path / "peershelf.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [PEERSHELF, "run", "--http", "--host", "127.0.0.1", *args],
            cwd=tmp_path,
            env=clean_env(PORT=str(port), **variables),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        try:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"peershelf run exited early:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("peershelf run did not answer /healthz within 30 s")
                time.sleep(0.1)
            yield url, log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def running_bot(tmp_path: Path, slack: FakeSlack, database_url: str) -> Iterator[str]:
    with bot_process(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=database_url,
        SHELF_FETCH_ALLOW_PRIVATE="true",
    ) as (url, _):
        yield url


def test_the_port_comes_from_the_settings_and_start_up_warns_of_nothing(tmp_path: Path, slack: FakeSlack) -> None:
    (tmp_path / ".env").write_text(f"SLACK_SIGNING_SECRET={SIGNING_SECRET}\nLOG_LEVEL=warning\n")
    database = f"sqlite:///{tmp_path / 'shelf.db'}"
    with bot_process(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, DATABASE_URL=database) as (
        url,
        log,
    ):
        assert httpx.get(f"{url}/healthz").status_code == 200  # on PORT: no --port was given
    assert log.read_text() == ""  # LOG_LEVEL=warning, and nothing to warn about


def test_peershelf_run_http_answers_signed_shelf_help(running_bot: str, slack: FakeSlack) -> None:
    driver = SlackDriver(running_bot, SIGNING_SECRET)
    response = driver.command("help")
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert "`/shelf help`" in response.json()["text"]
    assert driver.command("help", secret="forged").status_code == 401
    assert slack.calls_to("auth.test"), "the bot checks its token with Slack at start"


def test_healthz_reports_the_database(running_bot: str) -> None:
    response = httpx.get(f"{running_bot}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_run_with_an_app_token_connects_in_socket_mode(tmp_path: Path, slack: FakeSlack) -> None:
    process = subprocess.Popen(
        [PEERSHELF, "run"],
        cwd=tmp_path,
        env=clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'shelf.db'}",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not slack.calls_to("apps.connections.open") and time.monotonic() < deadline:
            assert process.poll() is None, "peershelf run exited instead of connecting"
            time.sleep(0.1)
        [first, *_] = slack.calls_to("apps.connections.open")
        assert first.token == APP_TOKEN
    finally:
        process.kill()
        process.wait(timeout=10)


def test_the_running_bot_reads_shared_pages_in_the_background(
    running_bot: str, pages: PageServer, database_url: str
) -> None:
    driver = SlackDriver(running_bot, SIGNING_SECRET)
    event = {"type": "message", "channel": "C0GENERAL1", "channel_type": "channel", "user": "U0ANA0001",
             "text": f"<{pages.url}/pages/002>", "ts": "1764239000.000100"}  # fmt: skip
    assert driver.event(event).status_code == 200
    engine = make_engine(database_url)
    try:

        def title() -> str | None:
            with engine.connect() as connection:
                return connection.execute(text("SELECT title FROM item")).scalar()

        assert wait_for(title, timeout=20) == "This API is so Fetching!"
    finally:
        engine.dispose()


def _worker_pids(log: Path) -> list[int]:
    return [int(pid) for pid in re.findall(r"worker (\d+) started", log.read_text())]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a child the test's own process must reap would linger as a zombie: not ours here
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_the_web_process_keeps_a_worker_restarts_it_and_takes_it_along_when_it_stops(
    tmp_path: Path, slack: FakeSlack, database_url: str
) -> None:
    settings = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": database_url}  # fmt: skip
    with bot_process(tmp_path, **settings) as (_, log):
        assert wait_for(lambda: _worker_pids(log), timeout=20)
        [first] = _worker_pids(log)
        os.kill(first, signal.SIGKILL)  # the worker dies
        assert wait_for(lambda: len(_worker_pids(log)) == 2, timeout=20)
        assert "the worker process exited" in log.read_text()
        second = _worker_pids(log)[1]
    assert wait_for(lambda: _gone(second) or None, timeout=20)  # stopped with the web process


def test_without_a_worker_messages_and_pages_wait_for_one(
    tmp_path: Path, slack: FakeSlack, pages: PageServer, database_url: str
) -> None:
    settings = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": database_url, "SHELF_FETCH_ALLOW_PRIVATE": "true"}  # fmt: skip
    engine = make_engine(database_url)

    def fetch_state() -> str | None:
        with engine.connect() as connection:
            return connection.execute(text("SELECT fetch_state FROM item")).scalar()

    def queued() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM capture_queue")).scalar() or 0)

    try:
        with bot_process(tmp_path, "--no-worker", **settings) as (url, log):
            event = {"type": "message", "channel": "C0GENERAL1", "channel_type": "channel", "user": "U0ANA0001",
                     "text": f"<{pages.url}/pages/002>", "ts": "1764239000.000100"}  # fmt: skip
            assert SlackDriver(url, SIGNING_SECRET).event(event).status_code == 200
            time.sleep(3)
            assert queued() == 1 and fetch_state() is None  # kept at the ack; the web process captures nothing
            assert _worker_pids(log) == [] and "--no-worker" in log.read_text()
            worker = subprocess.Popen([PEERSHELF, "worker"], cwd=tmp_path, env=clean_env(**settings),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                assert wait_for(lambda: fetch_state() == "done" or None, timeout=20)  # captured, then read
                assert queued() == 0
            finally:
                worker.terminate()
                assert worker.wait(timeout=20) == 0  # a clean stop on SIGTERM
    finally:
        engine.dispose()


def test_a_bad_port_or_log_level_in_dotenv_stops_before_anything_runs(tmp_path: Path) -> None:
    for line, named in (("PORT=abc", "PORT='abc': not a whole number"), ("LOG_LEVEL=verbose", "LOG_LEVEL='verbose'")):
        (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_SIGNING_SECRET=s\n{line}\n")
        result = peershelf("run", cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'shelf.db'}")
        assert result.returncode == 2
        assert result.stderr.strip().startswith(f"peershelf: bad setting {named}"), result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "shelf.db").exists()  # stopped before migrating


def test_every_command_says_what_it_does_and_what_it_reads(tmp_path: Path) -> None:
    for command in (["run"], ["db", "upgrade"], ["db", "revision"], ["digest", "run"], ["feeds", "poll"], ["inspect"]):
        result = peershelf(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert ".env" in result.stdout, command
        assert "DATABASE_URL" in result.stdout or "SHELF_" in result.stdout, command


def test_the_models_and_the_migrations_agree(tmp_path: Path) -> None:
    result = peershelf("db", "revision", "nothing", cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'shelf.db'}")
    assert result.returncode == 0, result.stderr
    assert "no migration written" in result.stdout


def test_cron_commands_serve_every_installed_workspace_in_oauth_mode(tmp_path: Path, slack: FakeSlack) -> None:
    from datetime import UTC, datetime

    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    from storage import migrate
    from storage.db import session_factory
    from storage.items import get_or_create_item, save_item
    from storage.models import BOTS_TABLE, INSTALLATIONS_TABLE
    from storage.workspaces import upsert_workspace

    database = f"sqlite:///{tmp_path / 'shelf.db'}"
    engine = make_engine(database)
    migrate.upgrade(engine)
    store = SQLAlchemyInstallationStore(client_id="1.2", engine=engine, bots_table_name=BOTS_TABLE,
                                        installations_table_name=INSTALLATIONS_TABLE)  # fmt: skip
    store.save(Installation(app_id="A1", team_id="T0PEERS01", bot_token=BOT_TOKEN, bot_id="B1", bot_user_id="U0BOT0001",
                            user_id="U0ADMIN01"))  # fmt: skip
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    with session_factory(engine)() as session:
        upsert_workspace(session=session, team_id="T0PEERS01", name="Acme", bot_user_id="U0BOT0001", now=monday)
        url = "https://example.com/a"
        item, _ = get_or_create_item(session=session, team_id="T0PEERS01", canonical_url=url, url=url, kind="article",
                                     title="Worth it", now=monday)  # fmt: skip
        save_item(session=session, team_id="T0PEERS01", user_id="U0ANA0001", item=item, source="command",
                  now=datetime(2026, 11, 20, tzinfo=UTC))  # fmt: skip
        session.commit()
    engine.dispose()
    slack.add_user("U0ANA0001", "Ana", tz="UTC")
    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_API_URL": slack.api_url,
             "DATABASE_URL": database}  # fmt: skip
    digests = peershelf("digest", "run", "--now", "2026-11-30T10:00:00Z", cwd=tmp_path, **oauth)
    assert digests.returncode == 0, digests.stderr
    assert "sent 1 digests" in digests.stdout
    [dm] = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "U0ANA0001"]
    assert dm.token == BOT_TOKEN  # the installation's own token
    feeds = peershelf("feeds", "poll", cwd=tmp_path, **oauth)
    assert feeds.returncode == 0, feeds.stderr

    # From cron every minute: once a pass finds nothing left, the next ones read one row and stop,
    # before the ORM, the migrations or the Slack client are even imported.
    settled = peershelf("digest", "run", "--now", "2026-12-01T10:00:00Z", cwd=tmp_path, **oauth)
    assert "sent 0 digests" in settled.stdout, settled.stderr
    slack.reset_calls()
    script = (
        "import sys\n"
        "from bot import cli\n"
        "status = cli.main(['digest', 'run', '--now', '2026-12-03T10:00:00Z'])\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
        "sys.exit(status)"
    )
    quiet = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=clean_env(**oauth), capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    assert "sent 0 digests; none due before 2026-12-06 19:00 UTC" in quiet.stdout  # Monday 09:00 at UTC+14
    assert slack.calls == []
    loaded = set(quiet.stdout.splitlines()[-1].split())
    assert loaded & {"sqlalchemy", "sqlmodel", "alembic", "slack_sdk", "slack_bolt", "numpy", "bs4", "lxml"} == set()


def test_a_dry_run_prints_each_digest_as_a_json_line_and_nothing_else(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from storage import migrate
    from storage import recommendations as recommendation_store
    from storage.db import session_factory
    from storage.items import get_or_create_item, save_item
    from storage.workspaces import upsert_workspace

    database = f"sqlite:///{tmp_path / 'shelf.db'}"
    engine = make_engine(database)
    migrate.upgrade(engine)
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    with session_factory(engine)() as session:
        upsert_workspace(session=session, team_id="T0PEERS01", name="Acme", bot_user_id="U0BOT0001", now=monday)
        kept, sent = (
            get_or_create_item(session=session, team_id="T0PEERS01", canonical_url=url, url=url, kind="article",
                               title=title, now=monday)[0]
            for url, title in (("https://example.com/kept", "Kept"), ("https://example.com/sent", "Sent"))
        )  # fmt: skip
        save_item(session=session, team_id="T0PEERS01", user_id="U0ANA0001", item=kept, source="command",
                  now=datetime(2026, 11, 20, tzinfo=UTC))  # fmt: skip
        recommendation_store.record(session=session, team_id="T0PEERS01", item=sent, from_user="U0BEN0001",
                                    to_users=["U0ANA0001"], note=None, now=monday - timedelta(days=3))  # fmt: skip
        session.commit()
    engine.dispose()
    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "DATABASE_URL": database}
    result = peershelf("digest", "run", "--dry-run", "--json", "--now", "2026-11-30T10:00:00Z", cwd=tmp_path, **oauth)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()  # no summary, no progress: one digest, one line
    digest = json.loads(line)
    assert list(digest) == ["team", "user", "slot", "sections"]
    assert (digest["team"], digest["user"]) == ("T0PEERS01", "U0ANA0001")
    assert datetime.fromisoformat(digest["slot"]) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 09:00, UTC
    assert digest["sections"] == [
        {"title": "Recommended to you",
         "items": [{"url": "https://example.com/sent", "title": "Sent", "why": "recommended by <@U0BEN0001>"}]},
        {"title": "Still on your shelf",
         "items": [{"url": "https://example.com/kept", "title": "Kept", "why": "waiting on your shelf"}]},
    ]  # fmt: skip
    plain = peershelf("digest", "run", "--dry-run", "--now", "2026-11-30T10:00:00Z", cwd=tmp_path, **oauth)
    assert "--- digest for U0ANA0001" in plain.stdout and "would send 1 digests" in plain.stdout, plain.stderr

    refused = peershelf("digest", "run", "--json", cwd=tmp_path, **oauth)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "usage: peershelf digest run" in refused.stderr and "use it with --dry-run" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_help_starts_without_the_heavy_libraries() -> None:
    """`peershelf --help` (and every command's parser) imports none of what only some commands use."""
    script = (
        "import sys\n"
        "from bot import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=clean_env())
    assert result.returncode == 0 and "usage: peershelf" in result.stdout, result.stderr
    loaded = set(result.stdout.splitlines()[-1].split())
    assert "bot" in loaded
    heavy = {"sqlalchemy", "sqlmodel", "alembic", "mako", "pygments", "slack_sdk", "slack_bolt", "bs4", "numpy",
             "httpx", "uvicorn", "starlette", "yaml", "lxml"}  # fmt: skip
    assert loaded & heavy == set()


def test_inspecting_a_saved_page_needs_neither_the_database_nor_the_network_libraries() -> None:
    page = Path(__file__).parent / "fixtures" / "pages" / "001" / "source.html"
    script = (
        "import sys\n"
        "from bot import cli\n"
        f"status = cli.main(['inspect', {str(page)!r}, '--json'])\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
        "sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=clean_env())
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.splitlines()[-1].split())
    assert "lxml" in loaded and "numpy" in loaded  # what reading and tagging a page take
    assert loaded & {"sqlalchemy", "sqlmodel", "alembic", "slack_sdk", "slack_bolt", "httpx", "bs4"} == set()


def test_workspace_forget_deletes_one_workspace_and_checks_its_argument(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'shelf.db'}"
    refused = peershelf("workspace", "forget", "acme; DROP TABLE item", cwd=tmp_path, DATABASE_URL=database)
    assert refused.returncode == 2 and "is not a Slack workspace ID" in refused.stderr
    assert peershelf("workspace", "forget", "T0NOBODY01", cwd=tmp_path, DATABASE_URL=database).stdout.strip() == (
        "nothing kept for workspace T0NOBODY01; nothing deleted"
    )
    engine = make_engine(database)
    with Session(engine) as session:
        session.add(Workspace(team_id="T0GONE0001", name="Gone"))
        session.add(Workspace(team_id="T0STAYS001", name="Stays"))
        session.commit()
    result = peershelf("workspace", "forget", "T0GONE0001", cwd=tmp_path, DATABASE_URL=database)
    assert result.returncode == 0 and result.stdout.strip() == "forgot workspace T0GONE0001: 1 row deleted"
    with Session(engine) as session:
        assert [w.team_id for w in session.exec(select(Workspace))] == ["T0STAYS001"]
