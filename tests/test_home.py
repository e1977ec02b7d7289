"""The App Home tab and its controls, and /shelf export."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from storage.models import Person
from tests.helpers import message, wait_for

ANA, BEN = "U0ANA0001", "U0BEN0001"


def open_home(driver: SlackDriver, slack: FakeSlack, user: str = ANA) -> dict[str, Any]:
    slack.reset_calls()
    driver.event({**load_payload("app_home_opened.json"), "user": user})
    [published] = wait_for(lambda: slack.calls_to("views.publish"))  # drawn once Slack has its answer
    view: dict[str, Any] = published.params["view"]
    return view


def test_home_shows_shelf_lists_interests_digest_and_top(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("save https://example.com/kubernetes-networking")
    driver.command('list new "Infra"')
    driver.command("interests #devops")
    driver.event(message("<https://example.com/popular>", user=BEN, ts="1764600000.000100"))
    view = open_home(driver, slack)
    text = json.dumps(view, ensure_ascii=False)
    assert "*Your shelf* — 1 unread, 0 done" in text and "kubernetes-networking" in text
    assert "*Your lists:* *Infra*" in text
    assert "`#devops`" in text
    assert "*Weekly digest:* on, Mondays at 09:00" in text
    assert "Top of the week" in text and "example.com/popular" in text
    actions = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"item_done", "item_recommend", "home_digest_toggle", "home_digest_day", "home_digest_time"} <= set(actions)
    assert len(view["blocks"]) <= 100


def test_home_stays_within_limits_with_a_long_shelf(driver: SlackDriver, slack: FakeSlack) -> None:
    for n in range(60):
        driver.command(f"save https://example.com/article-{n}")
    view = open_home(driver, slack)
    assert len(view["blocks"]) <= 100
    assert "and 50 more" in json.dumps(view)


def control(driver: SlackDriver, slack: FakeSlack, action_id: str, **fields: Any) -> None:
    """Use a digest control on the Home tab, and wait for the tab to be redrawn."""
    drawn = len(slack.calls_to("views.publish"))
    payload = {
        "type": "block_actions",
        "user": {"id": ANA, "team_id": "T0PEERS01"},
        "team": {"id": "T0PEERS01"},
        "api_app_id": "A0PEERSHELF",
        "trigger_id": "1.2.3",
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "home"},
        "actions": [{"action_id": action_id, "block_id": "home_digest", "action_ts": "1", **fields}],
    }
    assert driver.interact(payload).status_code == 200
    wait_for(lambda: len(slack.calls_to("views.publish")) > drawn)


def test_digest_controls_take_effect_at_once(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    slack.reset_calls()
    control(driver, slack, "home_digest_day", type="static_select", selected_option={"value": "4"})
    control(driver, slack, "home_digest_time", type="timepicker", selected_time="16:30")
    control(driver, slack, "home_digest_toggle", type="button", value="off")
    with services.new_session() as session:
        ana = session.exec(select(Person).where(Person.user_id == ANA)).one()
    assert (ana.digest_day, ana.digest_time, ana.digest_enabled, ana.tz) == (4, "16:30", False, "Europe/Lisbon")
    last = slack.calls_to("views.publish")[-1].params["view"]
    assert "*Weekly digest:* off, Fridays at 16:30 (Europe/Lisbon)" in json.dumps(last)


def test_export_dms_a_json_file_of_my_own_data(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("save https://example.com/mine #testing my note")
    driver.event(
        message("<https://example.com/secret>", user=BEN, channel="G0PRIVATE1", channel_type="group", ts="1.1")
    )
    driver.command("interests #testing")
    driver.command(f"follow <@{BEN}>")
    response = driver.command("export")
    assert "arrives as a JSON file" in response.json()["text"]
    [upload] = wait_for(lambda: slack.uploads())
    exported = json.loads(upload)
    assert [s["url"] for s in exported["saves"]] == ["https://example.com/mine"]
    assert exported["saves"][0]["note"] == "my note" and exported["saves"][0]["tags"] == ["testing"]
    assert exported["interests"] == ["testing"] and exported["follows"] == [BEN]
    assert "secret" not in upload.decode()  # nothing of other people's private shares
    [complete] = wait_for(lambda: slack.calls_to("files.completeUploadExternal"))  # just after the upload
    assert complete.params["channel_id"] == "D0ANA0001"


def test_save_and_done_buttons_on_item_cards(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    from tests.helpers import items, saves

    driver.event(message("<https://example.com/worth-it>", user=BEN, ts="1764600001.000100"))
    [item] = items(services)
    driver.press("item_save", str(item.id), user=ANA)
    wait_for(lambda: len(slack.responses()) == 1)  # said once Slack has its answer
    driver.press("item_save", str(item.id), user=ANA)
    wait_for(lambda: len(slack.responses()) == 2)
    assert [(s.user_id, s.status) for s in saves(services)] == [(ANA, "unread")]
    driver.press("item_done", str(item.id), user=ANA)
    assert [(s.user_id, s.status) for s in saves(services)] == [(ANA, "done")]
    wait_for(lambda: len(slack.responses()) == 3)
    told = [r.params["text"] for r in slack.responses()]
    assert told[0].startswith("Saved") and "already on your shelf" in told[1] and told[2].startswith("Marked")
    driver.event(
        message("<https://example.com/hidden>", user=BEN, channel="G0PRIVATE1", channel_type="group", ts="2.2")
    )
    hidden = next(i for i in items(services) if "hidden" in i.url)
    driver.press("item_save", str(hidden.id), user=ANA)
    wait_for(lambda: len(slack.responses()) == 4)
    assert "no longer there" in slack.responses()[-1].params["text"]
    assert len(saves(services, ANA)) == 1
