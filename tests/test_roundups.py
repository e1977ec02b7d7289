"""Channel roundups: turned on and off in a channel, posted once a week with the week's most shared
and saved items from there, skipped when there is nothing, and never twice with several runners."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.roundups import run_roundups
from tests.helpers import message, reply_text

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FRIDAY_SLOT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday at SHELF_DIGEST_TIME (09:00), in UTC


def posts(slack: FakeSlack, channel: str = "C0GENERAL1") -> list[dict[str, Any]]:
    return [c.params for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == channel]


@pytest.fixture
def busy_week(driver: SlackDriver, services: Services) -> None:
    services.clock = lambda: MONDAY
    assert "every Friday at 09:00" in reply_text(driver.command("roundup on", user=ANA))
    services.clock = lambda: MONDAY + timedelta(days=2)
    driver.event(message("<https://example.com/popular>", user=ANA, ts="1764000000.000100"))
    driver.event(message("<https://example.com/popular>", user=BEN, ts="1764000000.000200"))
    driver.event(message("<https://example.com/quiet>", user=CAROL, ts="1764000000.000300"))
    driver.event(message("<https://example.com/saved-most>", user=CAROL, ts="1764000000.000400"))
    for who in (ANA, BEN, CAROL):
        driver.command("save https://example.com/saved-most", user=who)
    driver.event(message("<https://example.com/elsewhere>", channel="C0OTHER001", user=ANA, ts="1764000000.000500"))


def test_the_week_is_posted_once_with_the_most_shared_and_saved_first(
    busy_week: None, services: Services, slack: FakeSlack
) -> None:
    assert run_roundups(services, now=FRIDAY_SLOT - timedelta(minutes=1)) == 0  # not yet
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(minutes=1)) == 1
    [post] = posts(slack)
    text = json.dumps(post["blocks"])
    order = [text.index(url) for url in ("saved-most", "popular", "quiet")]
    assert order == sorted(order) and "elsewhere" not in text
    assert "shared by 1 person, saved by 3" in text and "shared by 2 people" in text
    assert '"action_id": "item_save"' in text and '"action_id": "item_recommend"' in text
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(hours=5)) == 0
    assert len(posts(slack)) == 1
    # Next week, with nothing new shared there, nothing is posted.
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(days=7, minutes=1)) == 0
    assert len(posts(slack)) == 1


def test_two_runners_post_the_week_once(busy_week: None, services: Services, slack: FakeSlack) -> None:
    start = threading.Barrier(2)
    results: list[int] = []

    def runner() -> None:
        start.wait()
        results.append(run_roundups(services, now=FRIDAY_SLOT + timedelta(minutes=1)))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1] and len(posts(slack)) == 1


def test_a_roundup_turned_on_after_the_slot_starts_next_week_and_off_stops_it(
    driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    services.clock = lambda: FRIDAY_SLOT + timedelta(hours=1)
    driver.command("roundup on fri", user=ANA)
    driver.event(message("<https://example.com/late>", user=ANA, ts="1764000000.000100"))
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(hours=2)) == 0
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(days=7, minutes=1)) == 1
    assert "No more weekly roundups" in reply_text(driver.command("roundup off", user=BEN))
    driver.event(message("<https://example.com/later>", user=ANA, ts="1764000000.000200"))
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(days=14, minutes=1)) == 0


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("roundup", "C0GENERAL1", "Usage"),
        ("roundup maybe", "C0GENERAL1", "Usage"),
        ("roundup off now", "C0GENERAL1", "Usage"),
        ("roundup on someday", "C0GENERAL1", "isn't a day"),
        ("roundup on", "D0ANA00001", "Roundups are for channels"),
        ("roundup off", "C0GENERAL1", "has no weekly roundup"),
        ("roundup on tue", "C0GENERAL1", "every Tuesday at 09:00"),
    ],
)
def test_roundup_commands_answer_every_input(driver: SlackDriver, text: str, channel: str, expected: str) -> None:
    assert expected in reply_text(driver.command(text, channel=channel))
