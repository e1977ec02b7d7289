"""Picked for you: what colleagues shared, chosen for each person with no setting typed."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import FakeSlack
from bot.services import Services, picks
from bot.services.digests.delivery import DigestPass
from bot.slack.client import web_client
from storage.models import Dismissal, PickModel
from storage.picks import Facts, Text
from tests.helpers import items, message, preview_text, wait_for

ANA, BEN, CAROL, DAVE, ERIN, FRANK, SAM = (
    "U0ANA0001",
    "U0BEN0001",
    "U0CAROL01",
    "U0DAVE0001",
    "U0ERIN001",
    "U0FRANK01",
    "U0SAM0001",
)
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RUST, COOKING, SECRET = "C0RUST0001", "C0COOK0001", "G0SECRET01"
TEAM = "T0PEERS01"


class Week:
    """Links shared and saved through the app's endpoint, at chosen instants."""

    def __init__(self, driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
        self.driver, self.slack, self.services = driver, slack, services
        self.n = 0
        for user, name in ((CAROL, "Carol"), (DAVE, "Dave"), (ERIN, "Erin"), (FRANK, "Frank"), (SAM, "Sam")):
            slack.add_user(user, name)
        slack.add_channel(RUST, "rust")
        slack.add_channel(COOKING, "cooking")
        slack.add_channel(SECRET, "secret-plans", private=True)

    def at(self, when: datetime) -> None:
        self.services.clock = lambda: when

    def join(self, user: str, channel: str) -> None:
        self.driver.event({"type": "member_joined_channel", "user": user, "channel": channel, "channel_type": "C"})

    def share(self, url: str, *, by: str, channel: str, when: datetime, savers: tuple[str, ...] = ()) -> str:
        self.at(when)
        self.n += 1
        ts = f"{int(when.timestamp())}.{self.n:06d}"
        kind = {"type": "group"} if channel.startswith("G") else {}
        self.driver.event(
            message(f"<{url}>", user=by, channel=channel, ts=ts, channel_type=kind.get("type", "channel"))
        )
        for saver in savers:
            self.at(when + timedelta(hours=1))
            self.driver.event(
                {
                    "type": "reaction_added",
                    "user": saver,
                    "reaction": "bookmark",
                    "item_user": by,
                    "item": {"type": "message", "channel": channel, "ts": ts},
                    "event_ts": ts,
                }
            )
        return ts

    def digests(self, now: datetime) -> dict[str, dict[str, Any]]:
        self.at(now)
        before = len(self.slack.calls)
        DigestPass(self.services, web_client(self.services.settings), pace_seconds=0).run(TEAM, now=now)
        sent = [c.params for c in self.slack.calls[before:] if c.method == "chat.postMessage"]
        return {str(p["channel"]): p for p in sent if "Your week on Peershelf" in json.dumps(p)}


def picked(digest: dict[str, Any]) -> list[tuple[str, str]]:
    """The Picked for you section of a digest DM: (the item's link line, the reason) in order."""
    found, inside = [], False
    for block in digest["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "section" and text.startswith("*") and text.endswith("*"):
            inside = text == "*Picked for you*"
            continue
        if inside and block["type"] == "section":
            line, _, why = text.rpartition("\n")
            found.append((line, why.strip("_")))
    return found


def a_rust_reader(week: Week) -> None:
    """Ana saved Rust articles a fortnight ago; this week brings a Rust article and a cooking link
    three colleagues saved. She typed no setting."""
    week.join(ANA, RUST)
    for who in (BEN, DAVE, ERIN):
        week.join(who, COOKING)
    earlier = MONDAY - timedelta(days=12)
    week.share("https://example.com/rust/ownership-and-borrowing", by=BEN, channel=RUST, when=earlier, savers=(ANA,))
    week.share("https://example.com/rust/error-handling-in-rust", by=BEN, channel=RUST, when=earlier, savers=(ANA,))
    week.share("https://example.com/food/sourdough-starter", by=CAROL, channel=COOKING, when=earlier, savers=(DAVE,))
    this_week = MONDAY - timedelta(days=2)
    week.share("https://example.com/rust/async-rust-in-depth", by=BEN, channel=RUST, when=this_week)
    week.share(
        "https://example.com/food/one-pot-pasta-recipe",
        by=CAROL,
        channel=COOKING,
        when=this_week,
        savers=(BEN, DAVE, ERIN),
    )


def test_someone_with_no_settings_gets_the_weeks_rust_article_not_the_popular_recipe(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    sent = week.digests(MONDAY)
    shown = picked(sent[ANA])
    assert shown, "Ana's digest has picks"
    assert "async-rust-in-depth" in shown[0][0]
    assert shown[0][1].startswith("close to") or "rust" in shown[0][1]
    pasta = [n for n, (line, _) in enumerate(shown) if "pasta" in line]
    assert not pasta or pasta[0] > 0
    # The recipe three colleagues saved reaches those it suits; never the sharer, never the savers.
    assert all("one-pot-pasta" not in line for line, _ in picked(sent.get(CAROL, {"blocks": []})))
    assert all("one-pot-pasta" not in line for line, _ in picked(sent.get(BEN, {"blocks": []})))
    # The dry run says the same, as JSON.
    from bot.services.digests.delivery import as_record

    week.at(MONDAY + timedelta(days=7))
    result = DigestPass(services, None, pace_seconds=0).run(TEAM, now=MONDAY - timedelta(minutes=1), dry_run=True)
    records = {r["user"]: r for r in (as_record(TEAM, d) for d in result.digests)}
    sections = [s["title"] for s in records[ANA]["sections"]]
    assert "Picked for you" in sections
    [section] = [s for s in records[ANA]["sections"] if s["title"] == "Picked for you"]
    assert section["items"][0]["url"].endswith("async-rust-in-depth") and section["items"][0]["why"]


def home_picks(driver: SlackDriver, slack: FakeSlack, user: str) -> list[str]:
    """The links of the Picked for you section of `user`'s Home tab, in order."""
    before = len(slack.calls_to("views.publish"))
    driver.event({**load_payload("app_home_opened.json"), "user": user})
    view = wait_for(lambda: slack.calls_to("views.publish")[before:])[-1].params["view"]
    lines = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    start = next((n for n, line in enumerate(lines) if line.startswith("*Picked for you*")), None)
    if start is None:
        return []
    shown = []
    for line in lines[start + 1 :]:
        if line.startswith("*"):
            break
        shown.append(line.split("|")[0].lstrip("<"))
    return shown


def test_not_for_me_folds_the_card_and_similar_items_rank_lower(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    earlier = MONDAY - timedelta(days=12)
    packaging = "https://example.com/python/packaging-python-projects"
    week.share(packaging, by=ERIN, channel=RUST, when=earlier, savers=(ANA,))
    this_week = MONDAY - timedelta(days=1)
    runtimes = "https://example.com/rust/async-rust-runtimes-compared"
    hints = "https://example.com/python/python-type-hints-guide"
    week.share(runtimes, by=DAVE, channel=RUST, when=this_week)
    week.share(hints, by=CAROL, channel=RUST, when=this_week)
    week.at(MONDAY)
    before = home_picks(driver, slack, ANA)
    assert before.index(runtimes) < before.index(hints)  # Rust is what she reads most

    async_rust = next(i for i in items(services) if i.url.endswith("async-rust-in-depth"))
    week.digests(MONDAY)
    digest = next(c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == ANA)
    driver.press("pick_not_for_me", str(async_rust.id), user=ANA, channel="D0ANA0001", blocks=digest.params["blocks"])
    [update] = wait_for(lambda: slack.calls_to("chat.update"))
    text = json.dumps(update.params["blocks"])
    assert "Not for you" in text and "async-rust-in-depth" in text
    assert f'"value": "{async_rust.id}"' not in text  # its buttons are gone; the other cards stay
    assert len(update.params["blocks"]) == len(digest.params["blocks"]) - 1
    with services.new_session() as session:
        assert [(d.user_id, d.item_id) for d in session.exec(select(Dismissal))] == [(ANA, async_rust.id)]

    week.at(MONDAY + timedelta(minutes=5))
    after = home_picks(driver, slack, ANA)
    assert async_rust.url not in after  # never picked for her again
    assert after.index(hints) < after.index(runtimes)  # the Rust article like it now ranks below

    # Her export holds the mark.
    driver.command("export", user=ANA)
    [upload] = wait_for(lambda: slack.uploads())
    assert [m["url"] for m in json.loads(upload)["not_for_me"]] == [async_rust.url]


def test_a_private_item_is_never_picked_and_no_reason_reveals_a_save(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    week.share("https://example.com/rust/secret-rust-roadmap", by=SAM, channel=SECRET, when=MONDAY - timedelta(days=1))
    week.at(MONDAY - timedelta(hours=20))
    driver.command("save https://example.com/rust/secret-rust-roadmap", user=BEN)  # Ben may: he was told
    sent = week.digests(MONDAY)
    assert sent, "digests went out"
    for user, digest in sent.items():
        if user not in (SAM, BEN):  # it is theirs to see (Ben's reminder of his save may show it)
            assert "secret-rust-roadmap" not in json.dumps(digest), user
        assert all("secret-rust-roadmap" not in line for line, _ in picked(digest)), user
        for _, why in picked(digest):
            for named in re.findall(r"<@(U[A-Z0-9]+)>", why):
                assert named != user
                assert "shared by" in why  # a person is named only as who shared it in public
            for count in re.findall(r"saved by (\d+)", why):
                assert int(count) >= 2  # saves show only as counts, never one person's


def test_a_pick_whose_channel_turned_private_leaves_the_home_tab_at_once(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    week.share("https://example.com/food/knife-skills", by=CAROL, channel=COOKING, when=MONDAY - timedelta(days=1))
    week.at(MONDAY)
    assert any("knife-skills" in line for line in home_picks(driver, slack, ANA))  # the picker is read now
    week.at(MONDAY + timedelta(minutes=2))
    driver.event(
        message("made this channel private", user=CAROL, channel=COOKING, ts="1764500100.000100",
                subtype="channel_convert_to_private")
    )  # fmt: skip
    shown = home_picks(driver, slack, ANA)  # within the quarter hour the picker is kept
    assert not any("knife-skills" in line or "pasta" in line for line in shown)


def test_a_newcomer_gets_what_is_popular_in_their_channels(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    week.share(
        "https://example.com/rust/rust-for-beginners",
        by=BEN,
        channel=RUST,
        when=MONDAY - timedelta(days=1),
        savers=(ANA, DAVE),
    )
    week.join(FRANK, RUST)  # new: in #rust, has done nothing yet
    week.at(MONDAY)
    before = len(slack.calls_to("views.publish"))
    driver.event({**load_payload("app_home_opened.json"), "user": FRANK})
    view = wait_for(lambda: slack.calls_to("views.publish")[before:])[-1].params["view"]
    lines = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    start = next(n for n, line in enumerate(lines) if line.startswith("*Picked for you*"))
    first = lines[start + 1]
    assert "rust-for-beginners" in first and "#rust" in first or "C0RUST0001" in first
    assert all("pasta" not in line for line in lines[start + 1 : start + 2])


def test_forget_me_leaves_nothing_learned_about_the_person(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    week.digests(MONDAY)
    pasta = next(i for i in items(services) if "pasta" in i.url)
    driver.press("pick_not_for_me", str(pasta.id), user=ANA)
    with services.new_session() as session:
        assert len(list(session.exec(select(Dismissal)))) == 1
    driver.press("forget_me", "me", user=ANA)
    wait_for(lambda: [c for c in slack.responses() if "forgotten you" in json.dumps(c.params)])
    with services.new_session() as session:
        assert len(list(session.exec(select(Dismissal)))) == 0
        world = picks.load_world(session, team_id=TEAM, now=MONDAY)
    assert ANA not in world.people and world.members.shape[0] == len(world.people)
    # The workspace's weights are a handful of numbers about no one; nothing there names her.
    with services.new_session() as session:
        assert all(ANA not in (row.weights or "") for row in session.exec(select(PickModel)))


def test_picks_that_cannot_be_made_leave_the_digest_and_home_tab_without_them(
    driver: SlackDriver, slack: FakeSlack, services: Services, monkeypatch: Any
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in picking")

    monkeypatch.setattr(picks.Picker, "pick", broken)
    week.at(MONDAY)
    assert home_picks(driver, slack, ANA) == []  # the Home tab is drawn all the same
    sent = week.digests(MONDAY)
    assert ANA in sent and not picked(sent[ANA])  # her digest goes out, without picks
    assert "Still on your shelf" in json.dumps(sent[ANA])


def test_a_pick_whose_reason_cannot_be_said_still_goes_out_with_a_plain_one(
    driver: SlackDriver, slack: FakeSlack, services: Services, monkeypatch: Any
) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in a reason")

    monkeypatch.setattr(picks.Picker, "_why", broken)
    sent = week.digests(MONDAY)
    assert ANA in sent and picked(sent[ANA]), "her digest goes out, picks and all"
    assert "new lately" in json.dumps(sent[ANA])


def test_reply_text_of_a_digest_preview_shows_picks(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    week = Week(driver, slack, services)
    a_rust_reader(week)
    week.at(MONDAY)
    assert "Picked for you" in preview_text(driver, slack, ANA)


# -- learning from the workspace's own weeks ------------------------------------------------------------


def two_communities(weeks: int = 6) -> picks.World:
    """Forty people in two channels; each saves half of what their own channel shares, mostly within a few days."""
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    facts = Facts()
    texts: dict[int, Text] = {}
    members: dict[str, set[str]] = {}
    people = {channel: [f"U{channel[-1]}{n:04d}" for n in range(20)] for channel in ("C0A", "C0B")}
    words = {"C0A": "rust ownership borrow async tokio", "C0B": "sourdough pasta oven recipe flour"}
    item = 0
    rng = random.Random(5)
    saves = []
    for channel, them in people.items():
        for person in them:
            members.setdefault(person, set()).add(channel)
    for day in range(weeks * 7):
        for channel, them in people.items():
            item += 1
            at = now - timedelta(days=weeks * 7 - day)
            sharer = them[(day * 3) % len(them)]
            facts.shares.add(item, facts.person(sharer), facts.channel(channel), at.timestamp(), True)
            texts[item] = Text(f"{words[channel]} part {item}", words[channel], None, "article")
            for person in people["C0A"] + people["C0B"]:
                keen = 0.5 if person in them else 0.03
                saved = at + timedelta(days=rng.expovariate(1 / 2))  # most within a few days
                if person != sharer and rng.random() < keen and saved < now:
                    saves.append((item, person, saved))
    for item, person, at in saves:
        facts.saves.add(item, facts.person(person), at.timestamp(), True, False)
    return picks.World(
        facts,
        members,
        now,
        texts=lambda ids: sorted((i, texts[i]) for i in ids if i in texts),
        topics=lambda ids: [],
    )


def test_weights_are_learned_from_earlier_weeks_and_picks_follow_them() -> None:
    world = two_communities()
    fitted = picks.fit(world)
    assert fitted.weights.fitted and fitted.positives >= picks.MIN_POSITIVES
    assert fitted.weights.values["colleagues"] > 0 or fitted.weights.values["content"] > 0
    chosen = picks.Picker(world, fitted.weights).pick({"UA0001": (world.now - picks.WEEK, world.now)})
    assert chosen["UA0001"], "picks for someone of the first channel"
    columns = [world.column(pick.item_id) for pick in chosen["UA0001"]]
    channels = [str(world.appearance(column).channel_id) for column in columns if column is not None]
    # What their own channel shared comes first; the other's only once none of it is left.
    assert channels[0] == "C0A" and channels == sorted(channels), channels
    for user in ("UA0002", "UB0001", "UB0002"):
        found = picks.Picker(world, fitted.weights).pick({user: (world.now - picks.WEEK, world.now)})[user]
        first = world.column(found[0].item_id)
        assert first is not None and world.appearance(first).channel_id == "C0" + user[1], user


def test_too_little_history_keeps_the_default_weights() -> None:
    fitted = picks.fit(two_communities(weeks=1))
    assert not fitted.weights.fitted and fitted.weights.values == picks.DEFAULTS
