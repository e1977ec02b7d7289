"""What was said in private stays with the people who were there, whatever a colleague types or
posts (storage.visibility): typed links, saved messages (notes) and their permalinks, roundups."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.roundups import run_roundups
from tests.helpers import items, message, reply_text, saves, wait_for
from tests.test_message_life import deleted, edited
from tests.test_reactions import reaction

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
SECRET = "C0SECRET01"
NOTE_TS = "1764200000.000400"
PERMALINK = f"https://acme-learning.slack.com/archives/{SECRET}/p1764200000000400"
WORDS = "The quokkaplan reorg lands on Friday"
SHOWN = "quokkaplan reorg lands"  # how a reply shows the note (a search echoes only what was asked)
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FRIDAY_SLOT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def private_note(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    """Ben saves, with a reaction, a message without a link that Ana wrote in a private channel."""
    slack.add_channel(SECRET, "secret", private=True)
    slack.add_message(SECRET, {"type": "message", "user": ANA, "text": WORDS, "ts": NOTE_TS})
    driver.event(reaction(NOTE_TS, user=BEN, channel=SECRET))
    wait_for(lambda: saves(services, BEN))
    assert saves(services, BEN), "the note was saved"


def test_naming_a_private_notes_permalink_never_shows_its_words(
    private_note: None, driver: SlackDriver, services: Services
) -> None:
    assert SHOWN in reply_text(driver.command("search quokkaplan", user=BEN))  # Ben was there
    for command in (
        f"done {PERMALINK}",
        f"tag {PERMALINK} #ops",
        f"save {PERMALINK}",
        f"recommend <@{ANA}> {PERMALINK}",
    ):
        reply = reply_text(driver.command(command, user=CAROL))
        assert SHOWN not in reply, command
    assert SHOWN not in reply_text(driver.command("search quokkaplan", user=CAROL))
    assert SHOWN not in reply_text(driver.command("search reorg friday", user=CAROL))
    [note] = [item for item in items(services) if item.title == WORDS]
    assert not note.is_public
    assert {s.user_id for s in saves(services) if s.item_id == note.id} == {BEN}


def test_posting_a_private_notes_permalink_in_public_keeps_the_note_private(
    private_note: None, driver: SlackDriver, services: Services
) -> None:
    driver.event(message(f"context is in <{PERMALINK}>", user=CAROL, ts="1764238600.000100"))
    [note] = [item for item in items(services) if item.title == WORDS]
    assert not note.is_public
    for who in (CAROL, ANA):  # Ana wrote it, but never saved it: the note is Ben's
        assert SHOWN not in reply_text(driver.command("search quokkaplan", user=who))
        assert SHOWN not in reply_text(driver.command("top", user=who))


def test_a_private_note_cannot_be_put_on_a_list(private_note: None, driver: SlackDriver, services: Services) -> None:
    [note] = [item for item in items(services) if item.title == WORDS]
    driver.command('list new "Ops"', user=BEN)
    reply = reply_text(driver.command(f'list add "Ops" {note.id}', user=BEN))
    assert "wasn't added" in reply
    assert not [item for item in items(services) if item.title == WORDS][0].is_public


def test_a_channel_made_private_takes_its_notes_with_it(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    slack.add_message("C0GENERAL1", {"type": "message", "user": ANA, "text": WORDS, "ts": NOTE_TS})
    driver.event(reaction(NOTE_TS, user=BEN))
    wait_for(lambda: saves(services, BEN))
    assert SHOWN in reply_text(driver.command("search quokkaplan", user=CAROL))  # a public message
    driver.event(
        {"type": "message", "subtype": "channel_convert_to_private", "channel": "C0GENERAL1",
         "channel_type": "group", "user": ANA, "text": "made this channel private", "ts": "1764238900.000100"}
    )  # fmt: skip
    assert SHOWN not in reply_text(driver.command("search quokkaplan", user=CAROL))
    assert SHOWN in reply_text(driver.command("search quokkaplan", user=BEN))


# -- a public message saved as a note follows its message ---------------------------------------------


@pytest.fixture
def public_note(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    slack.add_message("C0GENERAL1", {"type": "message", "user": ANA, "text": WORDS, "ts": NOTE_TS})
    driver.event(reaction(NOTE_TS, user=BEN))
    wait_for(lambda: saves(services, BEN))
    assert SHOWN in reply_text(driver.command("search quokkaplan", user=CAROL))


def test_a_deleted_messages_note_loses_its_words(public_note: None, driver: SlackDriver, services: Services) -> None:
    driver.event(deleted(WORDS, ts=NOTE_TS))
    for who in (CAROL, BEN):
        assert SHOWN not in reply_text(driver.command("search quokkaplan", user=who))
    assert SHOWN not in reply_text(driver.command("mine", user=BEN))
    assert len(saves(services, BEN)) == 1  # still on Ben's shelf, as a message that is gone


def test_an_edited_messages_note_says_what_the_message_now_says(
    public_note: None, driver: SlackDriver, services: Services
) -> None:
    event = edited("Plans changed, nothing to see", WORDS)
    event["message"]["ts"] = event["previous_message"]["ts"] = NOTE_TS
    driver.event(event)
    assert SHOWN not in reply_text(driver.command("search quokkaplan", user=CAROL))
    assert "Plans changed" in reply_text(driver.command("search plans changed", user=CAROL))


def test_a_forgotten_authors_words_leave_the_notes_colleagues_saved(
    public_note: None, driver: SlackDriver, services: Services
) -> None:
    assert driver.press("forget_me", "me", user=ANA).status_code == 200
    for who in (CAROL, BEN):
        assert SHOWN not in reply_text(driver.command("search quokkaplan", user=who))
    assert SHOWN not in reply_text(driver.command("mine", user=BEN))
    assert not [item for item in items(services) if WORDS in (item.title or "")]


# -- typed links count as no channel's activity -------------------------------------------------------


def _posts(slack: FakeSlack) -> list[dict[str, Any]]:
    return [c.params for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0GENERAL1"]


@pytest.mark.parametrize(
    "command",
    [f"recommend <@{BEN}> https://example.com/typed-secret", "done https://example.com/typed-secret",
     "tag https://example.com/typed-secret #ops", "save https://example.com/typed-secret"],
)  # fmt: skip
def test_a_link_typed_in_a_channel_never_reaches_its_roundup(
    command: str, driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    services.clock = lambda: MONDAY
    driver.command("roundup on", user=ANA)
    services.clock = lambda: MONDAY + timedelta(days=1)
    driver.event(message("<https://example.com/in-the-open>", user=BEN, ts="1764000000.000100"))
    services.clock = lambda: MONDAY + timedelta(days=2)
    assert driver.command(command, user=ANA).status_code == 200
    assert run_roundups(services, now=FRIDAY_SLOT + timedelta(minutes=1)) == 1
    [post] = _posts(slack)
    text = json.dumps(post["blocks"])
    assert "in-the-open" in text and "typed-secret" not in text


def test_a_channel_made_private_keeps_its_week_out_of_the_roundup(
    driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    services.clock = lambda: MONDAY
    driver.command("roundup on", user=ANA)
    services.clock = lambda: MONDAY + timedelta(days=1)
    driver.event(message("<https://example.com/said-in-the-open>", user=BEN, ts="1764000000.000100"))
    driver.event(
        {"type": "message", "subtype": "channel_convert_to_private", "channel": "C0GENERAL1",
         "channel_type": "group", "user": ANA, "text": "made this channel private", "ts": "1764000000.000200"}
    )  # fmt: skip
    run_roundups(services, now=FRIDAY_SLOT + timedelta(minutes=1))
    assert "said-in-the-open" not in json.dumps(_posts(slack))


def test_a_private_note_is_never_passed_on(
    private_note: None, driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    [note] = [item for item in items(services) if item.title == WORDS]
    reply = reply_text(driver.command(f"recommend <@{CAROL}> {note.id}", user=BEN))
    assert "private conversation" in reply
    assert SHOWN not in json.dumps([c.params for c in slack.calls_to("chat.postMessage")])
    assert SHOWN not in reply_text(driver.command("search quokkaplan", user=CAROL))


def test_suggested_colleagues_never_reveal_who_saved_an_item(driver: SlackDriver) -> None:
    """Suggestions leave out only those the saver may know have the item: a colleague who saved it
    (saves are private) is suggested like anyone else."""
    driver.command("interests #rust", user=CAROL)
    driver.command("save https://example.com/rust-borrow-checker-explained", user=BEN)
    reply = json.dumps(driver.command("save https://example.com/rust-borrow-checker-explained", user=ANA).json())
    assert f"<@{CAROL}> (#rust)" in reply and BEN not in reply  # Ben is not interested in #rust
    driver.command("save https://example.com/rust-borrow-checker-explained", user=CAROL)
    reply = json.dumps(
        driver.command("save https://example.com/rust-borrow-checker-explained", user="U0DAN0001").json()
    )
    assert f"<@{CAROL}> (#rust)" in reply  # Carol saved it, and nobody is told so by her absence


def test_a_link_first_met_in_private_shows_its_address_not_how_its_sharer_wrote_it(
    driver: SlackDriver, services: Services
) -> None:
    written = "https://example.com/plan?utm_source=ana-offsite-deck&utm_campaign=acquisition"
    driver.event(message(f"<{written}>", channel="G0PRIVATE1", channel_type="group", ts="1764238600.000100"))
    reply = reply_text(driver.command("save https://example.com/plan", user=CAROL))
    assert "offsite" not in reply and "acquisition" not in reply
    assert "offsite" not in json.dumps([item.url for item in items(services)])


def test_an_item_taken_off_the_only_list_that_showed_it_is_private_again(
    driver: SlackDriver, services: Services
) -> None:
    secret = "https://example.com/shared-in-private"
    driver.event(message(f"<{secret}> #zebrafund", channel="G0PRIVATE1", channel_type="group", ts="1764238600.1"))
    driver.command('list new "Reading"', user=BEN)
    assert "Added" in reply_text(driver.command(f'list add "Reading" {secret}', user=BEN))  # Ben publishes the page
    assert "shared-in-private" in reply_text(driver.command("search shared private", user=CAROL))
    assert "zebrafund" not in reply_text(driver.command("search shared private", user=CAROL))  # Ana's words stay hers
    driver.command(f'list remove "Reading" {secret}', user=BEN)
    assert "shared-in-private" not in reply_text(driver.command("search shared private", user=CAROL))
    assert "shared-in-private" in reply_text(driver.command("search shared private", user=BEN))  # his typed share


def test_a_note_of_a_public_message_counts_in_the_top_as_saved_in_the_open(
    public_note: None, driver: SlackDriver
) -> None:
    assert SHOWN in reply_text(driver.command("top", user=CAROL))
