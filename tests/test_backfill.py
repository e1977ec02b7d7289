"""`peershelf backfill` and the App Home's import: history read through the fake Slack page by page,
threads and reactions included, a 429 waited out, an interruption resumed, nothing added twice."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import BOT_TOKEN, FakeSlack
from bot.services import Services
from bot.services import backfill as backfill_module
from bot.services.backfill import Backfiller, Pacer, forget_old_revisions, run_waiting_backfills, since_argument
from bot.slack.client import web_client
from bot.slack.home import HISTORY_IMPORT
from storage.models import Backfill, ItemTag, MessageRevision
from tests.helpers import held_half_way, items, reply_text, saves, shares, wait_for
from tests.test_cli import peershelf

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def ts(days_ago: float, n: int = 0) -> str:
    return f"{(NOW - timedelta(days=days_ago)).timestamp():.0f}.{n:06d}"


def history(slack: FakeSlack) -> None:
    """#eng-python: eight links over four months, a thread, a save reaction, a join and a bot."""
    slack.add_channel("C0PYTHON01", "eng-python")
    slack.add_channel("C0SECRET01", "secret", private=True)
    slack.add_channel("C0NOTIN001", "elsewhere", member=False)
    for n in range(6):
        slack.add_message("C0PYTHON01", {"type": "message", "user": ANA, "ts": ts(10 + n, n),
                                         "text": f"worth a read <https://example.com/post-{n}>"})  # fmt: skip
    slack.add_message("C0PYTHON01", {"type": "message", "user": BEN, "ts": ts(5, 1), "text": "<https://example.com/saved>",
                                     "reactions": [{"name": "bookmark::skin-tone-2", "users": [CAROL, ANA], "count": 2}]})  # fmt: skip # noqa: E501
    slack.add_message("C0PYTHON01", {"type": "message", "user": CAROL, "ts": ts(4, 2), "text": "questions?"})
    slack.add_message("C0PYTHON01", {"type": "message", "user": ANA, "ts": ts(3, 3), "thread_ts": ts(4, 2),
                                     "text": "this: <https://example.com/in-a-thread>"})  # fmt: skip
    slack.add_message("C0PYTHON01", {"type": "message", "subtype": "channel_join", "user": BEN, "ts": ts(2, 4),
                                     "text": "<@U0BEN0001> has joined <https://example.com/not-a-share>"})  # fmt: skip
    slack.add_message("C0PYTHON01", {"type": "message", "subtype": "bot_message", "bot_id": "B0RSS00001",
                                     "ts": ts(1, 5), "text": "<https://example.com/from-a-bot>"})  # fmt: skip
    slack.add_message("C0PYTHON01", {"type": "message", "user": ANA, "ts": ts(120, 6),
                                     "text": "<https://example.com/too-old>"})  # fmt: skip


@pytest.fixture
def backfiller(services: Services, slack: FakeSlack) -> Backfiller:
    history(slack)
    services.settings = dataclasses.replace(services.settings, history_page_size=3, history_per_minute=60_000)
    services.clock = lambda: NOW
    return Backfiller(services, web_client(services.settings), "T0PEERS01", Pacer(60_000))


def run_all(backfiller: Backfiller, since_days: int = 90) -> list[Any]:
    rows, skipped = backfiller.plan([("C0PYTHON01", None)], since=NOW - timedelta(days=since_days))
    return [backfiller.run(row) for row in rows] + skipped


def test_history_becomes_shares_as_of_when_they_were_sent_with_threads_and_reactions(
    backfiller: Backfiller, services: Services, slack: FakeSlack
) -> None:
    # Public channels the bot is in: not the private one, nor the one it was never invited to.
    assert [c for c, _ in backfiller.public_channels()] == ["C0GENERAL1", "C0PYTHON01"]
    [tally] = run_all(backfiller)
    assert (tally.state, tally.links, tally.saves) == ("done", 8, 2)
    urls = {i.url for i in items(services)}
    assert urls == {f"https://example.com/post-{n}" for n in range(6)} | {
        "https://example.com/saved", "https://example.com/in-a-thread"}  # fmt: skip
    by_url = {i.id: i.url for i in items(services)}
    found = {by_url[s.item_id]: s for s in shares(services)}
    assert found["https://example.com/post-3"].shared_at.replace(microsecond=0) == NOW - timedelta(days=13)
    assert found["https://example.com/post-3"].user_id == ANA and not found["https://example.com/post-3"].is_private
    assert found["https://example.com/in-a-thread"].thread_ts == ts(4, 2)
    assert (found["https://example.com/saved"].permalink or "").startswith(
        "https://acme-learning.slack.com/archives/C0PYTHON01/p"
    )
    assert {(s.user_id, by_url[s.item_id]) for s in saves(services)} == {
        (CAROL, "https://example.com/saved"), (ANA, "https://example.com/saved")}  # fmt: skip
    with services.new_session() as session:  # the channel's topic, as for live shares
        assert {t.tag for t in session.exec(select(ItemTag).where(ItemTag.source == "channel"))} == {"python"}
    # Pages of three: four history pages, and the thread read once.
    assert len(slack.calls_to("conversations.history")) == 4
    assert len(slack.calls_to("conversations.replies")) == 1


def test_a_second_run_adds_nothing_and_asks_slack_for_nothing(
    backfiller: Backfiller, services: Services, slack: FakeSlack
) -> None:
    run_all(backfiller)
    before = (len(items(services)), len(shares(services)), len(saves(services)))
    slack.reset_calls()
    [again] = run_all(backfiller)
    assert (again.state, again.problem) == ("done", "already imported")
    assert (len(items(services)), len(shares(services)), len(saves(services))) == before
    assert slack.calls_to("conversations.history") == []
    # Asked to go further back, it reads only the older span.
    [older] = run_all(backfiller, since_days=150)
    assert older.links == 9 and "https://example.com/too-old" in {i.url for i in items(services)}


def test_an_interrupted_import_goes_on_where_it_stopped_and_a_429_is_waited_out(
    backfiller: Backfiller, services: Services, slack: FakeSlack
) -> None:
    stop = threading.Event()
    backfiller.stop = stop
    backfiller.on_page = lambda tally, read: stop.set()  # stop after the first page
    [first] = run_all(backfiller)
    assert first.state == "running" and 0 < first.messages < 10
    with services.new_session() as session:
        [row] = session.exec(select(Backfill))
    assert row.cursor is not None

    slack.fail("conversations.history", status=429, retry_after=1)
    backfiller.stop = threading.Event()
    rows, _ = backfiller.plan([("C0PYTHON01", "eng-python")], since=NOW - timedelta(days=90))
    [rest] = [backfiller.run(r) for r in rows]
    assert rest.state == "done" and rest.links == 8 and len(shares(services)) == 8
    assert len(slack.calls_to("conversations.history")) == 1 + 1 + 3  # the first page; refused once; three more


def test_private_unknown_and_ignored_channels_are_left_out(backfiller: Backfiller, services: Services) -> None:
    backfiller.services.settings = dataclasses.replace(
        backfiller.services.settings, ignore_channels=frozenset({"C0PYTHON01"})
    )
    rows, skipped = backfiller.plan([("C0PYTHON01", None), ("C0SECRET01", None), ("C0NOPE0001", None)], since=NOW)
    assert rows == []
    assert [t.problem for t in skipped] == [
        "in SHELF_IGNORE_CHANNELS",
        "private: only public channels are imported",
        "Slack does not know this channel, or Peershelf cannot see it",
    ]


def test_a_channel_the_bot_is_not_in_fails_with_a_reason(backfiller: Backfiller, slack: FakeSlack) -> None:
    slack.fail_with("conversations.history", "not_in_channel")
    rows, _ = backfiller.plan([("C0NOTIN001", None)], since=NOW - timedelta(days=9))
    [tally] = [backfiller.run(r) for r in rows]
    assert tally.state == "failed" and "/invite" in (tally.problem or "")


def test_a_worker_runs_imports_waiting_in_the_database(backfiller: Backfiller, services: Services) -> None:
    backfiller.plan([("C0PYTHON01", "eng-python")], since=NOW - timedelta(days=90))
    assert run_waiting_backfills(services) == 1
    assert len(shares(services)) == 8
    assert run_waiting_backfills(services) == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30", NOW - timedelta(days=30)), ("2026-09-01", datetime(2026, 9, 1, tzinfo=UTC))],
)
def test_since_takes_days_or_a_date(value: str, expected: datetime) -> None:
    assert since_argument(value, now=NOW) == expected


@pytest.mark.parametrize("value", ["0", "yesterday", "2027-01-01", "-3", "2026-13-01"])
def test_since_refuses_what_it_cannot_read(value: str) -> None:
    with pytest.raises(ValueError):
        since_argument(value, now=NOW)


def test_the_command_imports_and_says_what_it_did(tmp_path: Path, slack: FakeSlack) -> None:
    history(slack)
    database = f"sqlite:///{tmp_path / 'shelf.db'}"
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url, "DATABASE_URL": database,
           "SHELF_HISTORY_PER_MINUTE": "6000"}  # fmt: skip
    result = peershelf("backfill", "--since", "3650", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "#eng-python: done; 12 messages read, 9 links, 2 saves" in result.stdout
    assert result.stdout.strip().endswith("imported 9 links and 2 saves from 12 messages in 2 channels")
    # Progress in days of history, so it has an end and an ETA (a plain line when not on a terminal).
    assert result.stderr.strip().splitlines()[-1] == "history: 7,300/7,300 days (100%) — #eng-python, 12 messages"
    again = peershelf("backfill", "--since", "3650", cwd=tmp_path, **env)
    assert "#eng-python: done (already imported)" in again.stdout
    refused = peershelf("backfill", "--since", "soon", cwd=tmp_path, **env)
    assert refused.returncode == 2 and "--since 'soon'" in refused.stderr


def home_texts(slack: FakeSlack, user: str) -> list[str]:
    return [
        json.dumps(c.params.get("view")) for c in slack.calls_to("views.publish") if c.params.get("user_id") == user
    ]


def test_an_admin_starts_the_import_from_the_app_home_and_sees_it_progress(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    history(slack)
    slack.add_user("U0BOSS0001", "Boss", is_admin=True)
    driver.event({"type": "app_home_opened", "user": ANA, "channel": "D0ANA", "tab": "home"})
    driver.event({"type": "app_home_opened", "user": "U0BOSS0001", "channel": "D0BOSS", "tab": "home"})
    assert wait_for(lambda: home_texts(slack, "U0BOSS0001"))
    assert "Import the last 90 days" in home_texts(slack, "U0BOSS0001")[-1]
    assert wait_for(lambda: home_texts(slack, ANA)) and "Import history" not in home_texts(slack, ANA)[-1]

    driver.press(HISTORY_IMPORT, "90", user=ANA)  # not an admin: nothing planned
    driver.press(HISTORY_IMPORT, "90", user="U0BOSS0001")
    assert wait_for(lambda: "Importing: 0 of 2 channels done" in home_texts(slack, "U0BOSS0001")[-1])
    with services.new_session() as session:
        assert {(b.channel_id, b.requested_by) for b in session.exec(select(Backfill))} == {
            ("C0GENERAL1", "U0BOSS0001"), ("C0PYTHON01", "U0BOSS0001")}  # fmt: skip
    assert run_waiting_backfills(services) == 2
    assert {i.url for i in items(services)} >= {"https://example.com/post-0", "https://example.com/in-a-thread"}
    driver.event({"type": "app_home_opened", "user": "U0BOSS0001", "channel": "D0BOSS", "tab": "home"})
    assert wait_for(lambda: "Imported on" in home_texts(slack, "U0BOSS0001")[-1])
    assert "8 links and 2 saves added" in home_texts(slack, "U0BOSS0001")[-1]


def test_the_import_asks_slack_whether_the_one_starting_it_is_still_an_admin(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    history(slack)
    slack.add_user("U0BOSS0001", "Boss", is_admin=True)
    driver.event({"type": "app_home_opened", "user": "U0BOSS0001", "channel": "D0BOSS", "tab": "home"})
    assert wait_for(lambda: "Import the last 90 days" in (home_texts(slack, "U0BOSS0001") or [""])[-1])
    slack.users["U0BOSS0001"]["is_admin"] = False  # an admin no longer, since the Home tab was drawn
    slack.reset_calls()
    driver.press(HISTORY_IMPORT, "90", user="U0BOSS0001")
    assert wait_for(lambda: home_texts(slack, "U0BOSS0001"))
    with services.new_session() as session:
        assert list(session.exec(select(Backfill))) == []  # nothing planned
    assert [c.params.get("user") for c in slack.calls_to("users.info")] == ["U0BOSS0001"]
    assert "Import the last 90 days" not in home_texts(slack, "U0BOSS0001")[-1]


def made_private(channel: str) -> dict[str, Any]:
    return {"type": "message", "subtype": "channel_convert_to_private", "user": ANA, "channel": channel,
            "channel_type": "group", "ts": ts(0.1), "text": "made this channel *private*."}  # fmt: skip


def only_the_sharer_finds(driver: SlackDriver, words: str, sharer: str) -> None:
    assert reply_text(driver.command(f"search {words}", user=CAROL)).startswith("Nothing you can see matches")
    assert "Nothing you can see" not in reply_text(driver.command(f"search {words}", user=sharer))


def test_a_channel_made_private_while_its_history_is_read_stops_the_import_at_the_next_page(
    backfiller: Backfiller, services: Services, driver: SlackDriver
) -> None:
    read = backfiller._history
    pages: list[object] = []

    def read_while_it_changes(row: Backfill) -> dict[str, Any]:
        page = read(row)
        pages.append(page)
        if len(pages) == 2:  # made private while this page is in hand
            assert driver.event(made_private("C0PYTHON01")).status_code == 200
        return page

    backfiller._history = read_while_it_changes  # type: ignore[method-assign]
    [tally] = run_all(backfiller)
    assert tally.state == "failed" and tally.problem is not None and "made private" in tally.problem
    # The first page (a thread's link) was kept while the channel was public, and is private now;
    # nothing of the second page or later was written: no shares, saves, tags or topics.
    assert [i.url for i in items(services)] == ["https://example.com/in-a-thread"]
    assert all(s.is_private for s in shares(services)) and saves(services) == []
    only_the_sharer_finds(driver, "in a thread", ANA)
    with services.new_session() as session:
        [row] = session.exec(select(Backfill))
    assert (row.state, row.links) == ("failed", 1) and "made private" in (row.error or "")
    [again] = run_all(backfiller)  # asked again, it is left out as any private channel is
    assert again.problem == "private: only public channels are imported"


def test_an_import_a_worker_resumes_after_its_channel_was_made_private_imports_nothing_more(
    backfiller: Backfiller, services: Services, driver: SlackDriver, slack: FakeSlack
) -> None:
    stop = threading.Event()
    backfiller.stop, backfiller.on_page = stop, lambda tally, read: stop.set()  # stopped after the first page
    [first] = run_all(backfiller)
    assert first.state == "running" and len(shares(services)) == 1
    assert driver.event(made_private("C0PYTHON01")).status_code == 200
    later = NOW + timedelta(minutes=10)  # the stopped process's claim has run out
    services.clock = lambda: later
    slack.reset_calls()
    assert run_waiting_backfills(services) == 0
    assert slack.calls_to("conversations.history") == []  # not another page read
    with services.new_session() as session:
        [row] = session.exec(select(Backfill))
    assert row.state == "failed" and "made private" in (row.error or "")
    assert len(shares(services)) == 1 and saves(services) == []
    only_the_sharer_finds(driver, "in a thread", ANA)


POST_0, POST_1 = ts(10, 0), ts(11, 1)  # two of Ana's messages, on the import's second page


def deleted_live(message_ts: str, text: str) -> dict[str, Any]:
    """Ana deletes her message in Slack (after the import read the page it is on; the fake's cursor
    counts messages, so it stays in the fake's history, as later pages begin after it anyway)."""
    return {"type": "message", "subtype": "message_deleted", "channel": "C0PYTHON01", "channel_type": "channel",
            "hidden": True, "ts": ts(0.1, 1), "deleted_ts": message_ts, "event_ts": ts(0.1, 1),
            "previous_message": {"type": "message", "user": ANA, "text": text, "ts": message_ts}}  # fmt: skip


def edited_live(slack: FakeSlack, message_ts: str, new: str, old: str) -> dict[str, Any]:
    for m in slack.messages["C0PYTHON01"]:
        if m["ts"] == message_ts:
            m["text"] = new
    return {"type": "message", "subtype": "message_changed", "channel": "C0PYTHON01", "channel_type": "channel",
            "hidden": True, "ts": ts(0.1, 2), "event_ts": ts(0.1, 2),
            "message": {"type": "message", "user": ANA, "text": new, "ts": message_ts},
            "previous_message": {"type": "message", "user": ANA, "text": old, "ts": message_ts}}  # fmt: skip


def post(n: int) -> str:
    return f"worth a read <https://example.com/post-{n}>"


def test_a_message_deleted_or_edited_while_its_page_is_in_hand_is_not_brought_back_by_the_import(
    backfiller: Backfiller, services: Services, slack: FakeSlack, driver: SlackDriver
) -> None:
    read = backfiller._history
    pages: list[object] = []

    def read_while_ana_revises(row: Backfill) -> dict[str, Any]:
        page = read(row)
        pages.append(page)
        if len(pages) == 2:  # the page holds both messages as they were; both are revised live
            driver.event(deleted_live(POST_0, post(0)))
            driver.event(edited_live(slack, POST_1, "better: <https://example.com/post-1-revised>", post(1)))
        return page

    backfiller._history = read_while_ana_revises  # type: ignore[method-assign]
    [tally] = run_all(backfiller)
    assert tally.state == "done"
    urls = {i.url for i in items(services)}
    assert "https://example.com/post-0" not in urls and "https://example.com/post-1" not in urls
    assert {"https://example.com/post-1-revised", "https://example.com/post-2"} <= urls
    assert reply_text(driver.command("search post 0", user=ANA)).startswith("Nothing you can see matches")
    assert "post-1-revised" in reply_text(driver.command("search revised", user=BEN))


def test_a_live_deletion_waits_for_the_import_page_that_holds_its_message_and_then_takes_it_away(
    backfiller: Backfiller, services: Services, slack: FakeSlack, driver: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    backfiller.stop, backfiller.on_page = stop, lambda tally, read: stop.set()
    run_all(backfiller)  # the first page; the second is the one held
    backfiller.stop, backfiller.on_page = threading.Event(), lambda tally, read: None
    rows, _ = backfiller.plan([("C0PYTHON01", "eng-python")], since=NOW - timedelta(days=90))
    page = partial(backfiller.run, rows[0])  # held half-way through writing its second page
    delete = partial(driver.event, deleted_live(POST_0, post(0)))
    assert held_half_way(monkeypatch, backfill_module, "capture_message", page, then=delete)  # the deletion waited
    urls = {i.url for i in items(services)}
    assert "https://example.com/post-0" not in urls and "https://example.com/post-1" in urls
    assert reply_text(driver.command("search post 0", user=ANA)).startswith("Nothing you can see matches")


def test_the_record_of_a_live_revision_is_kept_a_day(services: Services, driver: SlackDriver, slack: FakeSlack) -> None:
    history(slack)
    services.clock = lambda: NOW
    driver.event(edited_live(slack, POST_1, "better: <https://example.com/post-1-revised>", post(1)))

    def kept() -> int:
        with services.new_session() as session:
            return len(list(session.exec(select(MessageRevision))))

    assert kept() == 1
    services.clock = lambda: NOW + timedelta(hours=23)
    assert forget_old_revisions(services) == 0 and kept() == 1
    services.clock = lambda: NOW + timedelta(days=1, minutes=1)
    assert forget_old_revisions(services) == 1 and kept() == 0
