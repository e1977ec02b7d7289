"""`/shelf` and `/shelf help`, and friendly answers to anything else, through the real endpoint."""

from __future__ import annotations

import pytest

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack


def reply_of(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return body


@pytest.mark.parametrize("text", ["", "help", "HELP", "  help  "])
def test_shelf_and_shelf_help_explain_peershelf_and_list_subcommands(driver: SlackDriver, text: str) -> None:
    body = reply_of(driver.command(text))
    assert "Peershelf" in body["text"]
    assert "`/shelf help`" in body["text"]
    rendered = " ".join(block["text"]["text"] for block in body["blocks"])
    assert "colleagues share" in rendered
    assert "`/shelf help` — what Peershelf is and every subcommand" in rendered
    assert "React with :bookmark: to any message to save its links" in rendered
    for usage in ("/shelf save URL [#tag …] [note]", "/shelf mine [#tag]", "/shelf done ITEM", "/shelf search WORDS"):
        assert usage in rendered


def test_help_reply_is_ephemeral_and_posts_nothing_to_the_channel(driver: SlackDriver, slack: FakeSlack) -> None:
    reply_of(driver.command("help"))
    assert slack.calls_to("chat.postMessage") == []


def test_unknown_subcommand_gets_a_pointer_to_help(driver: SlackDriver) -> None:
    body = reply_of(driver.command("frobnicate the widgets"))
    assert body["text"].startswith("I don't know `/shelf frobnicate`.")
    assert "`/shelf help`" in body["text"]


def test_misspelt_subcommand_suggests_the_right_one(driver: SlackDriver) -> None:
    body = reply_of(driver.command("hepl"))
    assert "Did you mean `/shelf help`?" in body["text"]


def test_unbalanced_quote_is_explained(driver: SlackDriver) -> None:
    body = reply_of(driver.command('list new "Reading list'))
    assert "quote is missing its partner" in body["text"]


@pytest.mark.parametrize(
    "text",
    [
        "&lt;!channel&gt; hello",
        "<!channel>",
        "<@U0BEN0001|ben>",
        "`rm -rf /`",
        "🙂 " * 200,
        "x" * 5000,
        "\n\n\t",
        "“smart quotes”",
        "DROP TABLE item; --",
        "%00%ff\\x00",
    ],
)
def test_any_text_gets_a_friendly_reply_that_cannot_ping_anyone(driver: SlackDriver, text: str) -> None:
    body = reply_of(driver.command(text))
    assert body["text"]
    assert "<!channel>" not in body["text"]
    assert "<@U0BEN0001" not in body["text"]
    assert len(body["text"]) < 3000
    assert "Traceback" not in body["text"]
