"""Save by reaction: known messages from the database, others read from Slack, confirmations private."""

from __future__ import annotations

from typing import Any

import pytest

from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from tests.helpers import items, message, saves, shares, wait_for


def reaction(
    ts: str, *, user: str = "U0BEN0001", channel: str = "C0GENERAL1", emoji: str = "bookmark"
) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": emoji,
        "item_user": "U0ANA0001",
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": "1764240000.000100",
    }


def test_reacting_to_a_captured_message_saves_its_links_without_reading_slack(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    driver.event(message("<https://example.com/a> and <https://example.com/b>", ts="1764237700.000100"))
    driver.event(reaction("1764237700.000100"))
    assert [s.user_id for s in saves(services)] == ["U0BEN0001", "U0BEN0001"]
    assert all(s.source == "reaction" for s in saves(services))
    [told] = wait_for(lambda: slack.calls_to("chat.postEphemeral"))  # once Slack has its answer
    assert told.params["user"] == "U0BEN0001"
    assert told.params["text"].startswith("Saved to your shelf: <https://example.com/a|")
    assert slack.calls_to("conversations.history") == []
    assert slack.calls_to("conversations.replies") == []


def test_reacting_again_says_it_is_already_on_the_shelf(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    driver.event(message("<https://example.com/a>", ts="1764237700.000200"))
    driver.event(reaction("1764237700.000200"))
    wait_for(lambda: slack.calls_to("chat.postEphemeral"))  # confirmed once Slack has its answer
    driver.event(reaction("1764237700.000200", emoji="bookmark"))
    assert len(saves(services)) == 1
    told = wait_for(lambda: slack.calls_to("chat.postEphemeral")[1:])
    assert told[0].params["text"].startswith("Already on your shelf:")


def test_other_emoji_do_nothing(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    driver.event(message("<https://example.com/a>", ts="1764237700.000300"))
    driver.event(reaction("1764237700.000300", emoji="tada"))
    assert saves(services) == []
    assert slack.calls_to("chat.postEphemeral") == []


def test_a_save_emoji_with_a_skin_tone_saves_as_in_the_history_import(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    driver.event(message("<https://example.com/a>", ts="1764237700.000350"))
    driver.event(reaction("1764237700.000350", emoji="bookmark::skin-tone-2"))
    assert [s.user_id for s in saves(services)] == ["U0BEN0001"]
    [told] = wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert told.params["text"].startswith("Saved to your shelf")
    driver.event(reaction("1764237700.000350", emoji="tada::skin-tone-2", user="U0ANA0001"))
    assert [s.user_id for s in saves(services)] == ["U0BEN0001"]


def test_configured_emoji_save(serve_with: Any, services: Services) -> None:
    driver = serve_with(save_reactions=("books", "pushpin"))
    driver.event(message("<https://example.com/a>", ts="1764237700.000400"))
    driver.event(reaction("1764237700.000400", emoji="bookmark"))
    assert saves(services) == []
    driver.event(reaction("1764237700.000400", emoji="pushpin"))
    assert len(saves(services)) == 1


def test_reacting_to_a_message_never_seen_reads_it_from_slack(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    slack.add_message(
        "C0GENERAL1",
        {"type": "message", "user": "U0ANA0001", "text": "<https://example.com/old>", "ts": "1764200000.000100"},
    )
    driver.event(reaction("1764200000.000100"))
    [saved] = wait_for(lambda: saves(services))
    [share] = shares(services)
    assert (share.user_id, share.message_ts) == ("U0ANA0001", "1764200000.000100")
    assert items(services)[0].is_public
    told = wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert "Saved to your shelf" in told[0].params["text"]
    assert len(slack.calls_to("conversations.history")) == 1


def test_reacting_to_a_thread_reply_reads_the_thread(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    slack.add_message(
        "C0GENERAL1", {"type": "message", "user": "U0ANA0001", "text": "A thread", "ts": "1764200000.000200"}
    )
    slack.add_message(
        "C0GENERAL1",
        {
            "type": "message",
            "user": "U0ANA0001",
            "text": "<https://example.com/reply>",
            "ts": "1764200001.000300",
            "thread_ts": "1764200000.000200",
        },
    )
    driver.event(reaction("1764200001.000300"))
    wait_for(lambda: saves(services))
    assert items(services)[0].canonical_url == "https://example.com/reply"
    assert shares(services)[0].permalink.endswith("?thread_ts=1764200000.000200&cid=C0GENERAL1")  # type: ignore[union-attr]
    assert slack.calls_to("conversations.replies")


def test_reacting_to_a_message_without_a_link_saves_a_note_with_its_permalink(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    slack.add_message(
        "C0GENERAL1",
        {
            "type": "message",
            "user": "U0ANA0001",
            "text": "Pair on it with someone who did it before.",
            "ts": "1764200000.000400",
        },
    )
    driver.event(reaction("1764200000.000400"))
    wait_for(lambda: saves(services))
    [note] = items(services)
    assert note.url == "https://acme-learning.slack.com/archives/C0GENERAL1/p1764200000000400"
    assert note.canonical_url == "urn:peershelf:note:C0GENERAL1:1764200000.000400"  # no typed link reaches it
    assert note.quoted_user_id == "U0ANA0001"
    assert note.title == "Pair on it with someone who did it before."
    assert note.fetch_state == "none"  # Slack's own pages are never fetched


def test_confirmation_falls_back_to_a_dm_where_an_ephemeral_cannot_be_posted(
    driver: SlackDriver, slack: FakeSlack
) -> None:
    driver.event(message("<https://example.com/a>", channel="C0ELSEWHERE", ts="1764237700.000500"))
    slack.not_in.add("C0ELSEWHERE")
    driver.event(reaction("1764237700.000500", channel="C0ELSEWHERE"))
    [dm] = wait_for(lambda: slack.calls_to("chat.postMessage"))
    assert dm.params["channel"] == "U0BEN0001"
    assert "Saved to your shelf" in dm.params["text"]


def test_a_message_slack_will_not_show_gets_a_clear_answer(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    driver.event(reaction("1764200009.000900", channel="C0SECRET01"))
    told = wait_for(lambda: slack.calls_to("chat.postEphemeral") + slack.calls_to("chat.postMessage"))
    assert "couldn't read that message" in told[0].params["text"]
    assert saves(services) == []


@pytest.mark.parametrize("item_type", ["file", "file_comment"])
def test_reactions_to_files_are_ignored(
    driver: SlackDriver, slack: FakeSlack, services: Services, item_type: str
) -> None:
    event = reaction("1764237700.000600")
    event["item"] = {"type": item_type, "file": "F0FILE0001"}
    assert driver.event(event).status_code == 200
    assert saves(services) == []


def test_save_to_shelf_shortcut_saves_the_messages_links(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    payload = {**load_payload("message_action.json"), "response_url": slack.response_url}
    assert driver.interact(payload).status_code == 200
    [told] = wait_for(lambda: slack.responses())
    assert told.params["response_type"] == "ephemeral"
    assert "Saved to your shelf: <https://martinfowler.com/articles/practical-test-pyramid.html|" in told.params["text"]
    [save] = saves(services)
    assert save.user_id == "U0ANA0001"
    [share] = shares(services)
    assert (share.user_id, share.channel_id) == ("U0BEN0001", "C0GENERAL1")
    assert items(services)[0].is_public
