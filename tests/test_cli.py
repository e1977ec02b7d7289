"""The `peershelf` command as an admin runs it: clear one-line errors, and a real HTTP server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import APP_TOKEN, BOT_TOKEN, FakeSlack
from storage.db import make_engine
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


@pytest.fixture
def running_bot(tmp_path: Path, slack: FakeSlack, database_url: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [PEERSHELF, "run", "--http", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=database_url,
            SHELF_FETCH_ALLOW_PRIVATE="true",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"peershelf run exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("peershelf run did not answer /healthz within 30 s")
        time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)


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
