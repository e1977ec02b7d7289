"""Recommendations and following colleagues, through the fake Slack."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import TEAM_ID as TEAM
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.recommendation_dms import resend_undelivered, send_due_notices
from storage.models import Follow, Recommendation
from storage.people import remember_person
from tests.helpers import items, message, reply_text, saves, wait_for

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"


def dump(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


@pytest.fixture(autouse=True)
def colleagues(slack: FakeSlack) -> None:
    slack.add_user(CAROL, "Carol", tz="Asia/Tokyo")
    slack.add_user("U0ROBOT001", "Deploybot", is_bot=True)


def shared_item(driver: SlackDriver, services: Services, url: str = "https://example.com/rust-ownership") -> int:
    driver.event(message(f"<{url}>", ts="1764238400.000100"))
    [item] = [i for i in items(services) if i.url == url]
    return int(item.id or 0)


def responses_saying(slack: FakeSlack, words: str) -> list[str]:
    """What was said to the person who typed a command, after its first answer (response_url)."""
    return [str(c.params.get("text")) for c in slack.responses() if words in str(c.params.get("text"))]


def dms_to(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [c.params for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == user]


def recommendations(services: Services) -> list[Recommendation]:
    with services.new_session() as session:
        return list(session.exec(select(Recommendation).order_by(Recommendation.id)))  # type: ignore[arg-type]


def test_recommending_sends_one_dm_with_the_card_and_buttons(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    item_id = shared_item(driver, services)
    reply = reply_text(driver.command(f"recommend <@{BEN}|ben> {item_id} you asked about ownership"))
    assert reply.startswith("Sent <https://example.com/rust-ownership|") and f"to <@{BEN}>, with a note." in reply
    [dm] = wait_for(lambda: dms_to(slack, BEN))
    text = dump(dm["blocks"])
    assert f"<@{ANA}> recommends this to you:" in text and "you asked about ownership" in text
    assert "https://example.com/rust-ownership" in text
    [actions] = [b for b in dm["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["rec_save", "rec_done", "rec_thanks"]
    assert wait_for(lambda: recommendations(services)[0].dm_ts)  # recorded just after the DM went out


def test_several_people_at_once_and_never_twice(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    item_id = shared_item(driver, services)
    driver.command(f"recommend <@{BEN}> <@{CAROL}|carol> {item_id}")
    wait_for(lambda: len(dms_to(slack, BEN) + dms_to(slack, CAROL)) == 2)
    again = reply_text(driver.command(f"recommend <@{BEN}> {item_id}"))
    assert "You already recommended" in again and "nothing sent again" in again
    assert len(recommendations(services)) == 2
    assert len(dms_to(slack, BEN)) == 1


@pytest.mark.parametrize(
    ("who", "why"),
    [(f"<@{ANA}>", "that's you"), ("<@U0ROBOT001>", "a bot"), ("<@U0NOBODY01>", "not someone in this workspace")],
)
def test_recommending_to_yourself_bots_or_strangers_is_refused(
    driver: SlackDriver, slack: FakeSlack, services: Services, who: str, why: str
) -> None:
    item_id = shared_item(driver, services)
    reply = reply_text(driver.command(f"recommend {who} {item_id}"))
    if why == "that's you":
        assert why in reply and "Nothing was sent." in reply
    else:  # Slack is asked who they are after it has its answer; the refusal follows in the channel
        [said] = wait_for(lambda: responses_saying(slack, why))
        assert f"was not sent to {who}: {why}." in said
        assert wait_for(lambda: not recommendations(services))  # withdrawn
    assert recommendations(services) == []
    assert not dms_to(slack, who.strip("<@>"))


def test_a_colleague_known_to_be_a_bot_is_refused_at_once(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    item_id = shared_item(driver, services)
    with services.new_session() as session:
        remember_person(session=session, team_id=TEAM, user_id="U0ROBOT001", name="Deploybot", is_bot=True, tz=None,
                        now=services.clock())  # fmt: skip
    slack.reset_calls()
    reply = reply_text(driver.command(f"recommend <@U0ROBOT001> {item_id}"))
    assert "Not sent to <@U0ROBOT001>: a bot. Nothing was sent." in reply
    assert recommendations(services) == [] and not slack.calls_to("users.info")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recommend", "Mention who it's for"),
        (f"recommend <@{BEN}>", "Say what to recommend"),
        (f"recommend <@{BEN}> 99999", "can't find item `99999`"),
        ("recommend ben 12", "Mention who it's for"),
    ],
)
def test_malformed_recommendations_get_usage(driver: SlackDriver, services: Services, text: str, expected: str) -> None:
    assert expected in reply_text(driver.command(text))
    assert recommendations(services) == []


def test_buttons_save_finish_and_thank_update_the_dm_and_notify_the_recommender_once(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    item_id = shared_item(driver, services)
    driver.command(f"recommend <@{BEN}> {item_id}")
    [dm] = wait_for(lambda: dms_to(slack, BEN))
    rec = wait_for(lambda: [r for r in recommendations(services) if r.dm_ts])[0]
    press: dict[str, Any] = {"user": BEN, "channel": rec.dm_channel or "", "message_ts": rec.dm_ts or ""}

    assert driver.press("rec_save", str(rec.id), **press).status_code == 200
    [save] = saves(services, BEN)
    assert (save.status, save.source) == ("unread", "recommendation")
    [update] = wait_for(lambda: slack.calls_to("chat.update"))  # the DM is redrawn once Slack has its answer
    assert (update.params["channel"], update.params["ts"]) == (rec.dm_channel, rec.dm_ts)
    assert "✓ Saved to your shelf" in dump(update.params["blocks"])
    assert "rec_save" not in dump(update.params["blocks"])

    driver.press("rec_thanks", str(rec.id), **press)
    wait_for(lambda: len(slack.calls_to("chat.update")) == 2)
    driver.press("rec_done", str(rec.id), **press)
    assert saves(services, BEN)[0].status == "done"
    wait_for(lambda: len(slack.calls_to("chat.update")) == 3)
    last = dump(slack.calls_to("chat.update")[-1].params["blocks"])
    assert "✓ Done" in last and "🙏 Thanked" in last and '"type": "actions"' not in last

    assert send_due_notices(services) == 0  # not yet: reactions are gathered for a few minutes
    services.clock = lambda: recommendations(services)[0].created_at + timedelta(minutes=30)
    assert send_due_notices(services) == 1
    [notice] = dms_to(slack, ANA)
    assert notice["text"].startswith(
        f"<@{BEN}> saved, finished and thanked you for <https://example.com/rust-ownership|"
    )
    driver.press("rec_thanks", str(rec.id), **press)
    assert send_due_notices(services) == 0  # at most one notice per recipient and item


def test_only_the_recipient_can_press_the_buttons(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    item_id = shared_item(driver, services)
    driver.command(f"recommend <@{BEN}> {item_id}")
    rec = wait_for(lambda: [r for r in recommendations(services) if r.dm_ts])[0]
    driver.press("rec_save", str(rec.id), user=CAROL)
    assert saves(services, CAROL) == []
    assert "sent to someone else" in wait_for(lambda: dms_to(slack, CAROL))[0]["text"]


def test_the_recommend_button_opens_a_modal_whose_errors_show_in_it(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    item_id = shared_item(driver, services)
    driver.press("item_recommend", str(item_id))
    [opened] = wait_for(lambda: slack.calls_to("views.open"))
    view = opened.params["view"]
    assert view["callback_id"] == "recommend_modal"
    with services.new_session() as session:
        remember_person(session=session, team_id=TEAM, user_id="U0ROBOT001", name="Deploybot", is_bot=True, tz=None,
                        now=services.clock())  # fmt: skip
    people = {"people": {"users": {"type": "multi_users_select", "selected_users": [ANA, "U0ROBOT001"]}}}
    refused = driver.submit(view, people)
    assert refused.json()["response_action"] == "errors"
    assert "yourself" in refused.json()["errors"]["people"] and "bot" in refused.json()["errors"]["people"]
    assert recommendations(services) == []

    values = {
        "people": {"users": {"type": "multi_users_select", "selected_users": [BEN, CAROL]}},
        "note": {"text": {"type": "plain_text_input", "value": "for the reading group"}},
    }
    assert driver.submit(view, values).status_code == 200
    wait_for(lambda: len(dms_to(slack, BEN) + dms_to(slack, CAROL)) == 2)
    assert [r.note for r in recommendations(services)] == ["for the reading group"] * 2


def test_the_message_shortcut_offers_the_messages_links(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    payload = load_payload("message_action.json")
    payload.update(
        callback_id="recommend_message",
        response_url=slack.response_url,
        message={**payload["message"], "text": "Two: <https://example.com/one> and <https://example.com/two>"},
    )
    driver.interact(payload)
    view = wait_for(lambda: slack.calls_to("views.open"))[0].params["view"]
    [select_block] = [b for b in view["blocks"] if b.get("block_id") == "link"]
    assert [o["text"]["text"] for o in select_block["element"]["options"]] == [
        "https://example.com/one",
        "https://example.com/two",
    ]
    values = {
        "people": {"users": {"type": "multi_users_select", "selected_users": [CAROL]}},
        "link": {"choice": {"type": "static_select", "selected_option": {"value": "1"}}},
    }
    driver.submit(view, values, user=ANA)
    wait_for(lambda: dms_to(slack, CAROL))
    [rec] = recommendations(services)
    assert [i.url for i in items(services) if i.id == rec.item_id] == ["https://example.com/two"]


def test_the_message_shortcut_on_a_message_without_links_says_so(driver: SlackDriver, slack: FakeSlack) -> None:
    payload = load_payload("message_action.json")
    payload.update(
        callback_id="recommend_message",
        response_url=slack.response_url,
        message={**payload["message"], "text": "no links"},
    )
    driver.interact(payload)
    assert "no link to recommend" in wait_for(lambda: slack.responses())[0].params["text"]
    assert slack.calls_to("views.open") == []


def test_saving_suggests_colleagues_interested_in_its_topics(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    driver.command("interests #rust #go", user=CAROL)
    driver.command("interests #leadership", user=BEN)
    response = driver.command("save https://example.com/rust-borrow-checker-explained")
    blocks = dump(response.json()["blocks"])
    assert f"<@{CAROL}> (#rust)" in blocks and BEN not in blocks
    [button] = [b for b in response.json()["blocks"] if b["type"] == "actions"][0]["elements"]
    driver.press(button["action_id"], button["value"])
    wait_for(lambda: dms_to(slack, CAROL))
    assert [(r.from_user_id, r.to_user_id) for r in recommendations(services)] == [(ANA, CAROL)]
    assert wait_for(lambda: responses_saying(slack, "Sent"))


def test_a_private_item_recommended_goes_only_to_who_was_named(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    driver.event(
        message(
            "<https://example.com/confidential-plan>", channel="G0PRIVATE1", channel_type="group", ts="1764238500.1"
        )
    )
    [item] = items(services)
    driver.command(f"recommend <@{BEN}> {item.id}")
    wait_for(lambda: dms_to(slack, BEN))
    assert not items(services)[0].is_public
    assert f"`{item.id}`" in reply_text(driver.command("search confidential", user=BEN))
    assert f"`{item.id}`" not in reply_text(driver.command("search confidential", user=CAROL))


def test_a_recommendation_whose_dm_failed_is_sent_later(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    item_id = shared_item(driver, services)
    slack.fail_with("chat.postMessage", "internal_error", times=1)
    driver.command(f"recommend <@{BEN}> {item_id}")
    wait_for(lambda: slack.calls_to("chat.postMessage"))
    assert recommendations(services)[0].dm_ts is None
    services.clock = lambda: recommendations(services)[0].created_at + timedelta(minutes=10)
    assert resend_undelivered(services) == 1
    assert wait_for(lambda: recommendations(services)[0].dm_ts)  # recorded just after the DM went out


def test_two_workers_resending_at_once_send_one_dm(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    item_id = shared_item(driver, services)
    slack.fail_with("chat.postMessage", "internal_error", times=1)
    driver.command(f"recommend <@{BEN}> {item_id}")
    wait_for(lambda: slack.calls_to("chat.postMessage"))
    # The refused attempt lets go of its claim after Slack answers: only then do the workers meet.
    assert wait_for(lambda: recommendations(services)[0].claimed_until is None)
    services.clock = lambda: recommendations(services)[0].created_at + timedelta(minutes=10)
    slack.hold()  # the first worker's DM is on its way when the second worker looks
    first = threading.Thread(target=resend_undelivered, args=(services,))
    first.start()
    wait_for(lambda: recommendations(services)[0].claimed_until)
    assert resend_undelivered(services) == 0  # taken: not sent again
    slack.release()
    first.join(timeout=30)
    assert len(dms_to(slack, BEN)) == 2  # the one Slack refused, and one resend
    assert wait_for(lambda: recommendations(services)[0].dm_ts)


def test_two_workers_at_once_send_one_notice(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    item_id = shared_item(driver, services)
    driver.command(f"recommend <@{BEN}> {item_id}")
    rec = wait_for(lambda: [r for r in recommendations(services) if r.dm_ts])[0]
    driver.press("rec_save", str(rec.id), user=BEN, channel=rec.dm_channel or "", message_ts=rec.dm_ts or "")
    services.clock = lambda: rec.created_at + timedelta(minutes=30)
    wait_for(lambda: slack.calls_to("chat.update"))
    start = threading.Barrier(2)

    def notify() -> None:
        start.wait()
        send_due_notices(services)

    threads = [threading.Thread(target=notify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(dms_to(slack, ANA)) == 1


def test_follow_and_unfollow(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    assert "You now follow" in reply_text(driver.command(f"follow <@{BEN}|ben>"))
    assert "already follow" in reply_text(driver.command(f"follow <@{BEN}>"))
    with services.new_session() as session:
        assert [(f.follower_id, f.followee_id) for f in session.exec(select(Follow))] == [(ANA, BEN)]
    assert "can't follow" in reply_text(driver.command(f"follow <@{ANA}>"))
    # Whether someone never looked up is a colleague is asked of Slack after the answer.
    driver.command("follow <@U0ROBOT001>")
    assert wait_for(lambda: responses_saying(slack, "You can't follow <@U0ROBOT001>: a bot."))
    with services.new_session() as session:
        assert wait_for(lambda: [f.followee_id for f in session.exec(select(Follow))] == [BEN])
    assert "Mention one colleague" in reply_text(driver.command("follow ben"))
    assert "no longer follow" in reply_text(driver.command(f"unfollow <@{BEN}>"))
    assert "weren't following" in reply_text(driver.command(f"unfollow <@{BEN}>"))


def test_the_notice_says_what_was_done() -> None:
    from datetime import UTC, datetime

    from bot.services.recommendations import notice_text

    when = datetime(2026, 11, 27, tzinfo=UTC)
    rec = Recommendation(team_id="T", item_id=1, from_user_id=ANA, to_user_id=BEN, saved_at=when)
    assert notice_text(rec, "<x|X>") == f"<@{BEN}> saved <x|X>, which you recommended"
    rec.thanked_at = when
    assert notice_text(rec, "<x|X>") == f"<@{BEN}> saved and thanked you for <x|X>"
