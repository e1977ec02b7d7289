"""Every request verified; a retried event counts once; failures are retried, never lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from slack_bolt import Ack, App
from sqlmodel import select

import handlers.events
from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from handlers.errors import SORRY
from storage.models import ProcessedEvent
from tests.helpers import items, message, shares, wait_for


def home_opened(user: str = "U0ANA0001") -> dict:  # type: ignore[type-arg]
    return {**load_payload("app_home_opened.json"), "user": user}


def processed_events(services: Services) -> list[ProcessedEvent]:
    with services.new_session() as session:
        return list(session.exec(select(ProcessedEvent)))


@pytest.mark.parametrize(
    ("secret", "clock_offset"),
    [
        ("not-the-signing-secret", 0),
        (None, -6 * 60),  # older than Slack's five-minute window
        (None, +6 * 60),
    ],
    ids=["bad-signature", "stale", "from-the-future"],
)
def test_forged_or_stale_event_is_rejected_and_changes_nothing(
    driver: SlackDriver, slack: FakeSlack, services: Services, secret: str | None, clock_offset: int
) -> None:
    slack.reset_calls()
    # The timestamp is taken now, not when tests are collected: a long run would age it into the window.
    response = driver.event(home_opened(), secret=secret, timestamp=int(time.time()) + clock_offset)
    assert response.status_code == 401
    assert processed_events(services) == []
    assert slack.calls_to("views.publish") == []


def test_forged_command_is_rejected_without_a_reply(driver: SlackDriver, slack: FakeSlack) -> None:
    response = driver.command("help", secret="not-the-signing-secret")
    assert response.status_code == 401
    assert "Peershelf" not in response.text


def test_request_without_signature_headers_is_rejected(driver: SlackDriver, services: Services) -> None:
    body = driver.event_body(home_opened())
    response = driver.http.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert processed_events(services) == []


def test_retried_event_has_the_effect_of_one(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    shared = message("<https://example.com/once> and its words", ts="1764237600.000700")
    first = driver.event(shared, event_id="Ev0RETRY001")
    retry = driver.event(shared, event_id="Ev0RETRY001", retry_num=1)
    again = driver.event(shared, event_id="Ev0RETRY001", retry_num=2)
    assert (first.status_code, retry.status_code, again.status_code) == (200, 200, 200)
    assert len(shares(services)) == 1
    # A message is captured by its ts, so its retries need no record (and its ack writes one row, or none).
    assert processed_events(services) == []
    # Other events are recorded once, and their retries skipped.
    for retry_num in (None, 1, 2):
        assert driver.event(home_opened("U0ANA0001"), event_id="Ev0RETRY002", retry_num=retry_num).status_code == 200
    assert [event.event_id for event in processed_events(services)] == ["Ev0RETRY002"]
    assert len(wait_for(lambda: slack.calls_to("views.publish"))) == 1


def test_distinct_events_are_each_processed(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.event(home_opened("U0ANA0001"))
    driver.event(home_opened("U0BEN0001"))
    published = wait_for(lambda: slack.calls_to("views.publish")[1:] and slack.calls_to("views.publish"))
    assert sorted(call.params["user_id"] for call in published) == ["U0ANA0001", "U0BEN0001"]


def test_event_that_failed_is_processed_when_slack_retries_it(
    driver: SlackDriver, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database is away for the first delivery, so it fails as a whole and Slack retries it.
    queue = handlers.events.queue_message
    failures = iter([RuntimeError("the database went away")])

    def flaky(*args: Any, **kwargs: Any) -> bool:
        for failure in failures:
            raise failure
        return queue(*args, **kwargs)

    monkeypatch.setattr(handlers.events, "queue_message", flaky)
    shared = message("<https://example.com/kept>", ts="1764237600.000800")
    first = driver.event(shared, event_id="Ev0FAILED01")
    assert first.status_code == 500
    assert processed_events(services) == [] and shares(services) == []

    retry = driver.event(shared, event_id="Ev0FAILED01", retry_num=1)
    assert retry.status_code == 200
    assert [share.message_ts for share in shares(services)] == ["1764237600.000800"]


def test_rate_limited_call_is_retried_after_retry_after(driver: SlackDriver, slack: FakeSlack) -> None:
    slack.fail("views.publish", status=429, retry_after=1)
    response = driver.event(home_opened())
    assert response.status_code == 200
    attempts = wait_for(lambda: slack.calls_to("views.publish")[1:] and slack.calls_to("views.publish"))
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 0.95
    assert attempts[1].params["view"]["type"] == "home"


def test_unexpected_error_in_a_command_becomes_a_polite_ephemeral_reply(
    bolt_app: App, driver: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    @bolt_app.command("/broken")
    def broken(ack: Ack) -> None:
        raise RuntimeError("the database is on fire")

    body = driver.command_body("anything").replace("command=%2Fshelf", "command=%2Fbroken")
    response = driver.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    reply = json.loads(response.text)
    assert reply == {"response_type": "ephemeral", "text": SORRY}
    assert "the database is on fire" in caplog.text  # the trace is logged, not shown


def test_home_tab_shows_what_peershelf_is(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.event(home_opened())
    view = wait_for(lambda: slack.calls_to("views.publish"))[0].params["view"]
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = json.dumps(view)
    assert "Peershelf" in text and "/shelf help" in text


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "channel": "C0GENERAL1", "user": "U0BEN0001", "text": "hello", "ts": "1764237600.000300"},
        {"type": "reaction_removed", "user": "U0ANA0001", "reaction": "bookmark", "item": {"type": "message"}},
        {"type": "app_home_opened", "user": "U0ANA0001", "channel": "D0ANA0001", "tab": "messages"},
    ],
    ids=["message", "reaction_removed", "messages-tab"],
)
def test_events_peershelf_does_not_act_on_are_acknowledged_quietly(
    driver: SlackDriver,
    slack: FakeSlack,
    event: dict,  # type: ignore[type-arg]
) -> None:
    response = driver.event(event)
    assert response.status_code == 200  # not 404: Slack would redeliver it
    assert [call.method for call in slack.calls if call.method != "auth.test"] == []


@pytest.mark.parametrize(
    ("text", "channel_name", "expected"),
    [
        ("search payload validation", "general", "payload validation"),
        ("save https://example.com/payload-guide", "general", "Saved"),
        ("help", "payload-team", "/shelf"),
    ],
)
def test_commands_mentioning_payload_are_answered(
    driver: SlackDriver, text: str, channel_name: str, expected: str
) -> None:
    """slack_bolt 1.30's parse_body takes any form body that contains the text "payload" for an
    interactivity payload, and returns {} when it has no payload= field: the command was dropped
    in silence (200, empty body). Peershelf reads such a body as the form it is."""
    body = driver.command_body(text).replace("channel_name=general", f"channel_name={channel_name}")
    response = driver.post(body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert expected in response.text, response.text


def test_a_body_that_is_not_utf8_is_a_bad_request(driver: SlackDriver) -> None:
    body = b"token=x&command=%2Fshelf&text=\xff\xfe"
    ts = str(int(time.time()))
    mac = hmac.new(driver.signing_secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": f"v0={mac}"}  # fmt: skip
    response = driver.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 400
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=", "application/x-www-form-urlencoded"),
        ("payload=not-json", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
        ("payload=123", "application/x-www-form-urlencoded"),
        ("payload=null", "application/x-www-form-urlencoded"),
        ("[]", "application/json"),
        ('"hello"', "application/json"),
        ("null", "application/json"),
        ('{"type": "event_callback", "event": ', "application/json"),
        ('{"type": "event_callback", "team_id": "T0PEERS01", "event": "string"}', "application/json"),
    ],
    ids=["empty-payload", "payload-not-json", "payload-list", "payload-number", "payload-null", "json-list",
         "json-string", "json-null", "json-truncated", "event-a-string"],
)  # fmt: skip
def test_signed_but_malformed_requests_are_refused_with_400_not_500(
    driver: SlackDriver, body: str, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = driver.post(body, content_type)
    assert response.status_code == 400, (response.status_code, response.text)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # a client's mistake is not our error


def test_a_malformed_request_nobody_signed_is_refused_as_unsigned(driver: SlackDriver) -> None:
    assert driver.post("[]", "application/json", secret="not-the-signing-secret").status_code == 401
    assert driver.post("payload=", "application/x-www-form-urlencoded", timestamp=1).status_code == 401


@pytest.mark.parametrize("odd", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_text_with_nul_bytes_or_lone_surrogates_is_kept_without_them(
    driver: SlackDriver, services: Services, odd: str
) -> None:
    """PostgreSQL refuses NUL in text, and no database stores half a surrogate pair: Slack's JSON
    can carry both (as \\u0000 and \\ud800). They are dropped at the edge, and the share is kept."""
    event = message(f"Read this{odd} <https://example.com/odd{odd}-path> now", ts="1764238600.000100")
    body = driver.event_body(event)
    assert "\\u0000" in body or "\\ud800" in body  # escaped, as Slack sends it
    response = driver.post(body, "application/json")
    assert response.status_code == 200
    [share] = wait_for(lambda: shares(services))
    assert odd not in (share.context or "")
    [item] = items(services)
    assert item.url == "https://example.com/odd-path"


MISSHAPEN_EVENTS = {
    "home-without-user": {"type": "app_home_opened", "tab": "home"},
    "text-a-list": {**message("x", ts="1764238700.000100"), "text": ["a"]},
    "user-an-object": {**message("<https://example.com/a>", ts="1764238700.000200"), "user": {"id": "U1"}},
    "ts-a-number": {**message("<https://example.com/b>", ts="1764238700.000300"), "ts": 12.5},
    "blocks-a-string": {**message("<https://example.com/c>", ts="1764238700.000400"), "blocks": "nope"},
    "channel-a-number": {**message("<https://example.com/e>", ts="1764238700.000600"), "channel": 5},
    "rich-text-odd": {
        **message("<https://example.com/d>", ts="1764238700.000500"),
        "blocks": [{"type": "rich_text", "elements": ["x", {"type": "rich_text_section", "elements": [{"url": 5}]}]}],
    },
    "reaction-item-a-string": {
        "type": "reaction_added", "user": "U0ANA0001", "reaction": "bookmark", "item": "x", "event_ts": "1.1"
    },
}  # fmt: skip


@pytest.mark.parametrize("name", list(MISSHAPEN_EVENTS))
def test_events_with_fields_of_the_wrong_type_are_acknowledged_not_500(
    driver: SlackDriver, services: Services, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 makes Slack retry an event three times; one that can never succeed is acknowledged, or
    refused as a bad request where Bolt itself cannot read it (a channel that is not text)."""
    response = driver.event(MISSHAPEN_EVENTS[name])
    assert response.status_code in (200, 400)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_message_keeps_its_links_and_skips_one_too_long_or_malformed_to_keep(
    driver: SlackDriver, services: Services
) -> None:
    long = "https://example.com/" + "a" * 2100
    text = f"<{long}> <http://[::1> and <https://example.com/fine>"
    assert driver.event(message(text, ts="1764238800.000100")).status_code == 200
    assert [item.url for item in wait_for(lambda: items(services))] == ["https://example.com/fine"]
