"""Slack gets its answer without Peershelf waiting on Slack: every Web API call comes after the ack.

The fake Slack is held while each request is sent: it records calls but answers none of them. A
listener that called Slack before answering would hang until the driver gives up; here each one
answers at once, and what needed Slack happens once Slack is released.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from tests.helpers import items, message, shares, wait_for

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
PAGE = "https://example.com/held-page"

Send = Callable[[SlackDriver, Services], httpx.Response]
Done = Callable[[FakeSlack, Services], object]


def shared(driver: SlackDriver, services: Services) -> int:
    """An item Ben shared in #general (captured, so reactions and buttons have something to act on)."""
    driver.event(message(f"<{PAGE}>", user=BEN, ts="1764240000.000100"))
    return int(items(services)[0].id or 0)


def called(method: str) -> Done:
    return lambda slack, services: slack.calls_to(method)


def shortcut(driver: SlackDriver, callback_id: str) -> httpx.Response:
    payload = load_payload("message_action.json")
    payload.update(callback_id=callback_id, response_url=driver.response_url)
    return driver.interact(payload)


CASES: dict[str, tuple[Send, Done]] = {
    "recommend to someone never looked up": (
        lambda d, s: d.command(f"recommend <@{CAROL}> {shared(d, s)} worth it"),
        lambda slack, s: [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CAROL],
    ),
    "follow someone never looked up": (lambda d, s: d.command(f"follow <@{CAROL}>"), called("users.info")),
    "digest time, time zone unknown": (lambda d, s: d.command("digest time 16:30"), called("users.info")),
    "export": (lambda d, s: d.command("export"), called("files.completeUploadExternal")),
    "first message of a workspace": (
        lambda d, s: d.event(message(f"<{PAGE}>", ts="1764240000.000200")),
        lambda slack, s: shares(s) and shares(s)[0].permalink,
    ),
    "reaction on a captured message": (
        lambda d, s: (shared(d, s), d.event(reaction("1764240000.000100")))[1],
        called("chat.postEphemeral"),
    ),
    "reaction on a message never seen": (
        lambda d, s: d.event(reaction("1764240000.000900")),
        called("conversations.history"),
    ),
    "Home tab opened": (
        lambda d, s: d.event({**load_payload("app_home_opened.json"), "user": ANA}),
        called("views.publish"),
    ),
    "Save button": (lambda d, s: d.press("item_save", str(shared(d, s))), called("response_url")),
    "Recommend button": (lambda d, s: d.press("item_recommend", str(shared(d, s))), called("views.open")),
    "Home digest control": (
        lambda d, s: d.interact(
            {
                "type": "block_actions",
                "user": {"id": ANA, "team_id": "T0PEERS01"},
                "team": {"id": "T0PEERS01"},
                "trigger_id": "1.2.3",
                "container": {"type": "view", "view_id": "V1"},
                "actions": [{"action_id": "home_digest_toggle", "block_id": "home_digest", "value": "off"}],
            }
        ),
        called("views.publish"),
    ),
    "Recommend… shortcut": (
        lambda d, s: shortcut(d, "recommend_message"),
        called("views.open"),
    ),
    "Save to shelf shortcut": (
        lambda d, s: shortcut(d, "save_to_shelf"),
        called("conversations.info"),
    ),
    "Recommend… modal sent, channel never looked up": (
        lambda d, s: d.submit(
            {
                "type": "modal",
                "callback_id": "recommend_modal",
                "private_metadata": json.dumps({"channel": "C0NEVERSEEN", "ts": "1764240000.000300", "links": [PAGE]}),
            },
            {"people": {"users": {"type": "multi_users_select", "selected_users": [CAROL]}}},
        ),
        lambda slack, s: [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CAROL],
    ),
}


def reaction(ts: str) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": ANA,
        "reaction": "bookmark",
        "item": {"type": "message", "channel": "C0GENERAL1", "ts": ts},
        "event_ts": "1764240001.000100",
    }


@pytest.mark.parametrize("case", list(CASES))
def test_slack_is_answered_before_peershelf_calls_slack(
    driver: SlackDriver, slack: FakeSlack, services: Services, case: str
) -> None:
    send, done = CASES[case]
    slack.add_user(CAROL, "Carol", tz="Asia/Tokyo")
    slack.hold()
    try:
        response = send(driver, services)  # would time out if the listener waited on Slack
        assert response.status_code == 200, response.text
    finally:
        slack.release()
    assert wait_for(lambda: done(slack, services)), f"{case}: nothing happened after the answer"
