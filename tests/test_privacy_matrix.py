"""Every private source against every surface: someone who was not there — not the sharer, not a
saver, not a recipient — sees nothing of what was said in private (storage.visibility).

Each source builds one small workspace through the fake Slack and the signed endpoint, with the
same public week around it: Ana, Ben and Carol share, save and recommend in #general, Ivy curates
a list. Oli, the outsider, is set up to be tempted: he follows the private sharer (Sam) and a
saver (Ben), subscribes to the list an insider (Ivy) tries to put the private item on, and lists
its topics among his interests. Then every surface is read as Oli sees it and checked for the
private item's title, the words around its link, its #hashtags, its sharer and its conversation,
and every number is compared with the world that has no private source at all (`nothing`).

Then Ivy saves what she was sent, and the link reaches the open: Ana posts it in #general, then
Oli. From then on the page is anyone's to see (its title), but nothing else of the source is:
Oli's heads-up names Ana, no private #hashtag shows on its card, and no number (the heads-up's,
the top, the report, the roundup, Carol's digest) counts what was done with it in private.

A world is built once per source and backend; each cell of the matrix is one test reading it.
A cell with a known hole this file does not fix is expected to fail (HOLES), strictly: once the
hole is fixed it fails until its entry goes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot import cli
from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import BOT_TOKEN, FakeSlack
from bot.reading.fetcher import Fetcher
from bot.reading.links import canonical_url
from bot.runtime.app import create_app
from bot.runtime.server import ServerThread, build_asgi
from bot.services import Services, tagging
from bot.services.backfill import Backfiller, Pacer, Tally
from bot.services.digests.delivery import DigestPass
from bot.services.pages import MetadataWorker
from bot.services.recommendation_dms import send_due_notices
from bot.services.report import report_html
from bot.services.roundups import run_roundups
from bot.services.shares import CaptureWorker
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.render import blocks_to_text
from storage import tags as tag_store
from storage.db import make_engine, session_factory
from storage.models import CuratedList, Item, Recommendation
from storage.visibility import note_key
from tests.conftest import BACKENDS, SIGNING_SECRET, _drain, _empty_postgres, offline_resolver
from tests.helpers import message, preview_text, reply_text, wait_for
from tests.pageserver import PageServer, page_server
from tests.test_reactions import reaction

TEAM = "T0PEERS01"
ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
IVY = "U0IVY00001"  # an insider in every source: sent the private item, owns the list Oli subscribes to
SAM = "U0SAM00001"  # shares in private, and nothing in the open
OLI = "U0OLI00001"  # the outsider
GENERAL = "C0GENERAL1"
SECRET = "G0SECRET01"  # a private channel
GROUP = "G0GROUPDM1"  # a group DM
SAMS_DM = "D0SAM00001"  # Sam's DM with Peershelf
TURNED = "C0TURNED01"  # a public channel that is made private

TITLE_WORD = "zebrafold"  # in the private page's title (and address)
CONTEXT_WORD = "quokkaplan"  # in the words around the private link
HASHTAG = "marmotwatch"  # a free #hashtag written with it
TOPIC_HASHTAG = "sales"  # a #hashtag that is a topic (and one of Oli's interests)
WORDS = f"Psst, the {CONTEXT_WORD} move starts with this"
NOTE_WORDS = f"Zebrafold {CONTEXT_WORD}: the platform move lands Friday #{HASHTAG} #{TOPIC_HASHTAG}"

PUBLIC = [f"https://example.com/{slug}" for slug in ("public-kubernetes-basics", "public-terraform-notes",
                                                     "public-docker-tips")]  # fmt: skip
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)  # the week's activity, public and private
THURSDAY = MONDAY + timedelta(days=3)  # Oli looks around
ROUNDUP_AT = datetime(2026, 11, 27, 9, 1, tzinfo=UTC)  # just after #general's Friday slot
NEXT_MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # digests, the report; then Oli posts the link


def ts(when: datetime, n: int) -> str:
    return f"{when.timestamp():.0f}.{n:06d}"


# -- what every world shares --------------------------------------------------------------------------

PAGE_TITLE = "Zebrafold: a Kubernetes migration handbook"
PAGE = """<!doctype html><html lang=en><head><title>{title}</title>
<meta name="description" content="How the platform team moves its services onto Kubernetes clusters, step by step.">
</head><body><p>Clusters, namespaces and rollouts.</p></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    """The private page (`/pages/zebrafold`), served so the metadata worker can read its title."""
    root = tmp_path_factory.mktemp("site")
    (root / "zebrafold").mkdir()
    (root / "zebrafold" / "source.html").write_text(PAGE.format(title=PAGE_TITLE))
    with page_server() as server:
        server.fixtures = root
        yield server


@dataclass
class Rig:
    """The running app of one world: its database, the fake Slack and the driver of its endpoint."""

    database_url: str
    services: Services
    slack: FakeSlack
    driver: SlackDriver
    app_url: str
    page_url: str
    tmp: Path

    def at(self, when: datetime) -> None:
        self.services.clock = lambda: when

    def command(self, text: str, user: str, channel: str = GENERAL) -> str:
        return reply_text(self.driver.command(text, user=user, channel=channel))

    def item_id(self, canonical: str) -> int:
        with self.services.new_session() as session:
            found = session.exec(select(Item.id).where(Item.canonical_url == canonical)).first()
        assert found is not None, f"no item {canonical}"
        return int(found)

    def delivered_to(self, user: str, since: int = 0) -> list[str]:
        """Everything Slack showed `user` from the `since`-th call on: DMs, ephemerals, the Home tab."""
        shown = []
        for call in self.slack.calls[since:]:
            params = call.params
            if (
                (call.method == "chat.postMessage" and params.get("channel") in (user, "D" + user[1:]))
                or (call.method == "chat.postEphemeral" and params.get("user") == user)
                or (call.method == "views.publish" and params.get("user_id") == user)
            ):
                shown.append(json.dumps(params, ensure_ascii=False))
        return shown


@contextlib.contextmanager
def running_app(database_url: str, page_url: str, tmp: Path) -> Iterator[Rig]:
    slack = FakeSlack().start()
    for user, name in ((ANA, "Ana"), (BEN, "Ben"), (CAROL, "Carol"), (IVY, "Ivy"), (SAM, "Sam"), (OLI, "Oli")):
        slack.add_user(user, name, tz="Europe/Lisbon")
    slack.add_channel(GENERAL, "general", purpose="Company-wide announcements")
    slack.add_channel(SECRET, "hush", private=True)
    settings = Settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url,
        database_url=database_url, fetch_allow_private=True, base_url="https://shelf.example.com",
        history_page_size=2, history_per_minute=60_000,
    )  # fmt: skip
    engine = make_engine(database_url)
    services = Services(settings=settings, engine=engine, new_session=session_factory(engine))
    app = create_app(services)
    try:
        with ServerThread(build_asgi(app, services)) as server:
            # Captures and their follow-ups (permalinks, heads-ups) run at once, in this thread.
            driver = SlackDriver(server.url, SIGNING_SECRET, response_url=slack.response_url,
                                 then=CaptureWorker(services).drain)  # fmt: skip
            try:
                yield Rig(database_url, services, slack, driver, server.url, page_url, tmp)
            finally:
                driver.close()
    finally:
        _drain(app)
        engine.dispose()
        slack.stop()


def public_week(rig: Rig) -> None:
    """What happens in the open, the same in every world, and how Oli and the insiders are set up."""
    rig.at(MONDAY)
    rig.command("roundup on", ANA)
    rig.command('list new "Picks"', IVY)
    rig.command('list new "Mine"', OLI)
    rig.command('subscribe "Picks"', OLI)
    rig.command(f"interests #devops #{TOPIC_HASHTAG}", OLI)
    for followed in (SAM, BEN):
        rig.command(f"follow <@{followed}>", OLI)
    for insider in (BEN, IVY, SAM):
        rig.command("interests #devops", insider)
    rig.command(f"interests #{TOPIC_HASHTAG}", CAROL)
    for followed in (BEN, IVY):  # Carol, who was not there either, reads what they save in her digest
        rig.command(f"follow <@{followed}>", CAROL)
    rig.at(TUESDAY)
    for n, (who, url) in enumerate(zip((ANA, BEN, ANA), PUBLIC, strict=True)):
        rig.driver.event(message(f"<{url}>", user=who, ts=ts(TUESDAY, n)))
    basics = rig.item_id(PUBLIC[0])
    rig.command(f"save {PUBLIC[0]}", CAROL)
    rig.command(f"recommend <@{CAROL}> {basics} a good start", BEN)
    rig.command(f'list add "Picks" {basics}', IVY)


# -- the private sources ------------------------------------------------------------------------------


@dataclass
class Secret:
    """What a source left: the private item, where it was said, and the link Oli later posts."""

    item_id: int | None = None
    where: str | None = None
    link: str = ""
    link_is_the_page: bool = True  # Oli's link names the private item itself (not so for a note)
    sent_to_ivy: int | None = None  # the recommendation that brought it to Ivy


def insiders_act(rig: Rig, secret: Secret, recommender: str, *, sent: str | None = None) -> None:
    """What insiders do next: send it to Ivy (who thanks), and Ivy tries to put it on her list.
    `sent`: the item was already sent to Ivy, by a command with this text."""
    assert secret.item_id is not None
    command = sent or f"recommend <@{IVY}> {secret.item_id} {CONTEXT_WORD} is why"
    if sent is None:
        rig.command(command, recommender, channel=secret.where or GENERAL)
    recommendation = wait_for(lambda: _recommendation(rig, secret.item_id or 0, recommender))
    assert recommendation is not None, f"{command} sent nothing"
    assert wait_for(lambda: [c for c in rig.slack.calls_to("chat.postMessage") if c.params.get("channel") == IVY])
    rig.driver.press("rec_thanks", str(recommendation), user=IVY, channel="D" + IVY[1:])
    secret.sent_to_ivy = recommendation
    refused = rig.command(f'list add "Picks" {secret.item_id}', IVY)
    assert "wasn't added" in refused or "Added" in refused, refused  # (an addition shows on the list: checked there)


def _recommendation(rig: Rig, item_id: int, sender: str) -> int | None:
    with rig.services.new_session() as session:
        found = session.exec(
            select(Recommendation.id).where(Recommendation.item_id == item_id, Recommendation.from_user_id == sender)
        ).first()
    return int(found) if found else None


def read_pages(rig: Rig, fetcher: Fetcher) -> None:
    MetadataWorker(rig.services, fetcher).drain()


def shared_in(channel: str, channel_type: str) -> Callable[[Rig, Fetcher], Secret]:
    def build(rig: Rig, fetcher: Fetcher) -> Secret:
        rig.at(TUESDAY + timedelta(hours=1))
        sent = ts(TUESDAY + timedelta(hours=1), 1)
        text = f"{WORDS} <{rig.page_url}> #{HASHTAG} #{TOPIC_HASHTAG}"
        rig.driver.event(message(text, user=SAM, channel=channel, channel_type=channel_type, ts=sent))
        saver = SAM if channel_type == "im" else BEN  # only Sam and Peershelf are in Sam's DM
        rig.driver.event(reaction(sent, user=saver, channel=channel))
        secret = Secret(rig.item_id(canonical_url(rig.page_url)), channel, rig.page_url)
        read_pages(rig, fetcher)
        insiders_act(rig, secret, recommender=saver)
        return secret

    return build


def typed_link(rig: Rig, fetcher: Fetcher) -> Secret:
    """Sam types the link into commands in #general: a recommendation to Ivy (the link is his own
    share, in no channel), then a save with #tags and a note."""
    rig.at(TUESDAY + timedelta(hours=1))
    sent = f"recommend <@{IVY}> {rig.page_url} {CONTEXT_WORD} is why"
    rig.command(sent, SAM)
    rig.command(f"save {rig.page_url} #{HASHTAG} #{TOPIC_HASHTAG} {CONTEXT_WORD} notes for the move", SAM)
    secret = Secret(rig.item_id(canonical_url(rig.page_url)), None, rig.page_url)
    read_pages(rig, fetcher)
    insiders_act(rig, secret, recommender=SAM, sent=sent)
    return secret


def private_note(rig: Rig, fetcher: Fetcher) -> Secret:
    """Ben saves, with a reaction, a message without a link that Sam wrote in a private channel."""
    rig.at(TUESDAY + timedelta(hours=1))
    sent = ts(TUESDAY + timedelta(hours=1), 2)
    rig.slack.add_message(SECRET, {"type": "message", "user": SAM, "text": NOTE_WORDS, "ts": sent})
    rig.driver.event(reaction(sent, user=BEN, channel=SECRET))
    assert wait_for(lambda: _has(rig, note_key(SECRET, sent)))
    permalink = f"https://acme-learning.slack.com/archives/{SECRET}/p{sent.replace('.', '')}"
    secret = Secret(rig.item_id(note_key(SECRET, sent)), SECRET, permalink, link_is_the_page=False)
    # A note's words stay with the people who were there: Ben cannot pass it on to Ivy.
    refused = rig.command(f"recommend <@{IVY}> {secret.item_id} {CONTEXT_WORD} is why", BEN, channel=SECRET)
    assert "private conversation" in refused, refused
    assert _recommendation(rig, secret.item_id or 0, BEN) is None
    return secret


def _has(rig: Rig, canonical: str) -> bool:
    with rig.services.new_session() as session:
        return session.exec(select(Item.id).where(Item.canonical_url == canonical)).first() is not None


def _made_private(rig: Rig) -> None:
    rig.slack.channels[TURNED].update(is_private=True, is_channel=False, is_group=True)
    rig.driver.event(
        {"type": "message", "subtype": "channel_convert_to_private", "channel": TURNED, "channel_type": "group",
         "user": ANA, "text": "made this channel private", "ts": ts(TUESDAY + timedelta(hours=2), 9)}
    )  # fmt: skip


def imported(during: bool) -> Callable[[Rig, Fetcher], Secret]:
    """#platform's history holds Sam's link (Ben saved it with a reaction); the channel is made
    private after the import was planned (`during`: after its first page was read)."""

    def build(rig: Rig, fetcher: Fetcher) -> Secret:
        rig.slack.add_channel(TURNED, "platform")
        sent = TUESDAY + timedelta(hours=1)
        rig.slack.add_message(TURNED, {"type": "message", "user": SAM, "ts": ts(sent, 1),
                                       "text": f"{WORDS} <{rig.page_url}> #{HASHTAG} #{TOPIC_HASHTAG}",
                                       "reactions": [{"name": "bookmark", "users": [BEN], "count": 1}]})  # fmt: skip
        if during:  # the newest page is chatter, read while the channel is still public
            for n in (2, 3):
                rig.slack.add_message(TURNED, {"type": "message", "user": CAROL, "ts": ts(sent, n), "text": "morning"})
        rig.at(TUESDAY + timedelta(hours=2))
        backfiller = Backfiller(rig.services, web_client(rig.services.settings), TEAM, Pacer(60_000))
        rows, skipped = backfiller.plan([(TURNED, None)], since=MONDAY - timedelta(days=30))
        assert rows and not skipped, [t.problem for t in skipped]
        if during:
            pages: list[int] = []

            def after(tally: Tally, read: int) -> None:
                pages.append(read)
                if len(pages) == 1:
                    _made_private(rig)

            backfiller.on_page = after
        else:
            _made_private(rig)
        for row in rows:
            backfiller.run(row)
        # Each page asks the channel's privacy as it is when it is written: nothing said after the
        # channel was made private is imported, so there is nothing of it for insiders to pass on.
        assert not _has(rig, canonical_url(rig.page_url)), "a channel made private is imported no further"
        read_pages(rig, fetcher)
        return Secret(None, TURNED, rig.page_url)

    return build


def nothing(rig: Rig, fetcher: Fetcher) -> Secret:
    """The world without a private source, which every number is compared with."""
    read_pages(rig, fetcher)
    return Secret(link="")  # Oli's link (the page) is set once the page server is known


SOURCES: dict[str, Callable[[Rig, Fetcher], Secret]] = {
    "nothing": nothing,
    "private_channel": shared_in(SECRET, "group"),
    "group_dm": shared_in(GROUP, "mpim"),
    "dm": shared_in(SAMS_DM, "im"),
    "typed_link": typed_link,
    "private_note": private_note,
    "made_private_before_import": imported(during=False),
    "made_private_during_import": imported(during=True),
}


# -- reading every surface as Oli ---------------------------------------------------------------------


@dataclass
class World:
    """What Oli saw of one world, surface by surface: the problems found, and the numbers shown."""

    source: str
    secret: Secret = field(default_factory=Secret)
    problems: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)  # what went wrong building the world, if anything

    def forbidden(self, *, in_the_open: bool) -> list[str]:
        """What Oli must never see of the private source. Once he posted the page in the open
        (`in_the_open`), the page itself, its title and address, is anyone's to see."""
        if self.source == "nothing":
            return []
        words = [CONTEXT_WORD, HASHTAG, SAM] + ([self.secret.where] if self.secret.where else [])
        if not (in_the_open and self.secret.link_is_the_page):
            words.append(TITLE_WORD)
        return [w for w in words if not (in_the_open and w.lower() in self.secret.link.lower())]

    @contextlib.contextmanager
    def read(self, surface: str, *, in_the_open: bool = False) -> Iterator[Cell]:
        """Read one surface; one that breaks is a failed cell, not a broken matrix."""
        cell = Cell(self, surface, in_the_open)
        self.problems.setdefault(surface, [])
        try:
            yield cell
        except Exception as error:
            logging.getLogger(__name__).exception("%s / %s", self.source, surface)
            cell.problem(f"raised {type(error).__name__}: {error}")


@dataclass
class Cell:
    world: World
    surface: str
    in_the_open: bool

    def problem(self, text: str) -> None:
        self.world.problems[self.surface].append(text)

    def look(self, shown: str, *, also: tuple[str, ...] = ()) -> None:
        """Oli saw `shown`: note each private thing in it (and each of `also`, in a world with a
        private source)."""
        lowered = shown.lower()
        for word in [*self.world.forbidden(in_the_open=self.in_the_open), *(also if self.world.secret.item_id else ())]:
            at = lowered.find(word.lower())
            if at >= 0:
                self.problem(f"shows {word!r}: …{shown[max(0, at - 120) : at + 80]}…")

    def count(self, name: str, shown: Any) -> None:
        """What the surface counted and ranked, compared with a world without a private source (Oli's
        own link, whose address differs between runs, as LINK)."""
        link = self.world.secret.link if self.in_the_open else None
        written = json.dumps(shown)
        self.world.numbers[name] = json.loads(written.replace(link, "LINK") if link else written)


def card_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """Item cards as text, without item numbers (they differ between worlds) and buttons."""
    lines = []
    for line in blocks_to_text(blocks).splitlines():
        if line.startswith("  [") or not line.strip():
            continue
        if " — " in line:  # an item's line: `42` Title — kind · #tags · why
            line = re.sub(r"^\d+ ", "", line)
        lines.append(line.replace("  [Recommend]", ""))
    return lines


def command_blocks(rig: Rig, text: str) -> tuple[str, list[dict[str, Any]]]:
    """Oli's `/shelf text`: the reply's text and its blocks."""
    response = rig.driver.command(text, user=OLI)
    said = reply_text(response)
    return said, list(response.json().get("blocks") or [])


def read_searches(world: World, rig: Rig, *, in_the_open: bool = False) -> None:
    """By a word of the title, words around the link, the #hashtags. Once the page is in the open
    a title word finds it (without its private tags); the others find nothing of it."""
    asked = {
        "search_title": [TITLE_WORD, "kubernetes migration"],
        "search_context": [CONTEXT_WORD, "psst starts"],
        "search_hashtag": [f"#{HASHTAG}", f"#{TOPIC_HASHTAG}", f"kubernetes #{TOPIC_HASHTAG}"],
    }
    for surface, queries in asked.items():
        with world.read("search_in_the_open" if in_the_open else surface, in_the_open=in_the_open) as cell:
            for query in queries:
                said, shown = command_blocks(rig, f"search {query}")
                if said.startswith("Nothing you can see matches"):  # (which echoes what he typed)
                    continue
                cards = json.dumps(shown[1:], ensure_ascii=False)  # after the heading, which echoes it too
                if surface == "search_title":
                    cell.look(cards, also=PRIVATE_TAGS)
                else:
                    cell.look(cards, also=(world.secret.link,))


PRIVATE_TAGS = (f"#{HASHTAG}", f"#{TOPIC_HASHTAG}")  # on the page's card once it is in the open


def read_top(cell: Cell, rig: Rig, name: str) -> None:
    """The week's top, and its top in the topics of the private #hashtags (which find nothing of it)."""
    said, shown = command_blocks(rig, "top")
    cell.look(said, also=PRIVATE_TAGS)
    cell.count(name, card_lines(shown))
    for tag in PRIVATE_TAGS:
        _, shown = command_blocks(rig, f"top {tag}")
        cell.look(json.dumps(shown[1:], ensure_ascii=False), also=(cell.world.secret.link,))  # after its heading


def read_home(cell: Cell, rig: Rig) -> None:
    before = len(rig.slack.calls_to("views.publish"))
    rig.driver.event({**load_payload("app_home_opened.json"), "user": OLI})
    drawn = wait_for(lambda: rig.slack.calls_to("views.publish")[before:])
    view = drawn[-1].params["view"]
    cell.look(json.dumps(view, ensure_ascii=False))
    blocks = view["blocks"]
    top = next(n for n, block in enumerate(blocks) if "Top of the week" in json.dumps(block))
    end = next(n for n, block in enumerate(blocks) if n > top and block["type"] == "divider")
    cell.count("home top", card_lines(blocks[top + 1 : end]))


def read_lists(cell: Cell, rig: Rig) -> None:
    """The list Ivy tried to put the private item on, as Oli reads it in Slack and in his feed reader."""
    cell.look(rig.command('list show "Picks"', OLI) + "\n" + rig.command("lists", OLI))
    with rig.services.new_session() as session:
        picks = session.exec(select(CuratedList).where(CuratedList.name == "Picks")).one()
    feed = httpx.get(f"{rig.app_url}/feeds/{picks.feed_token}.atom")
    assert feed.status_code == 200, feed.status_code
    cell.look(feed.text)
    entries = re.findall(r"<entry>.*?</entry>", feed.text, re.DOTALL)
    cell.count("feed entries", [re.findall(r'<link href="([^"]+)"', entry) for entry in entries])


def read_export(cell: Cell, rig: Rig) -> None:
    before = len(rig.slack.uploads())
    rig.command("export", OLI)
    [upload] = wait_for(lambda: rig.slack.uploads()[before:])
    exported = json.loads(upload)
    exported.pop("follows")  # that he follows Sam is his own doing
    cell.look(json.dumps(exported, ensure_ascii=False))


def lookalike(rig: Rig) -> Path:
    """A page much like the private one, that an admin inspects."""
    page = rig.tmp / "lookalike.html"
    page.write_text(PAGE.format(title="A Kubernetes migration handbook for platform teams"))
    return page


def read_inspect(cell: Cell, rig: Rig) -> None:
    for form in ((), ("--json",)):
        cell.look(run_cli("inspect", str(lookalike(rig)), "--team", TEAM, *form, rig=rig))


def read_tagger(cell: Cell, rig: Rig) -> None:
    """What `inspect --team` (and the live tagger) learn from: no private item's words or tags."""
    with rig.services.new_session() as session:
        learned = tag_store.corrections(session=session, team_id=TEAM, topics=list(rig.services.taxonomy.topics))
    cell.look(json.dumps(learned, ensure_ascii=False))
    plain = run_cli("inspect", str(lookalike(rig)), "--json", rig=rig)
    taught = run_cli("inspect", str(lookalike(rig)), "--json", "--team", TEAM, rig=rig)
    if taught != plain:  # nobody corrected a topic in the open, in any of these worlds
        cell.problem(f"--team changes what inspect says: {plain} → {taught}")


def read_roundup(cell: Cell, rig: Rig, name: str, *, now: datetime) -> None:
    """#general's weekly roundup, posted by the pass at `now`."""
    before = len(rig.slack.calls)
    run_roundups(rig.services, now=now)
    [post] = [c.params for c in rig.slack.calls[before:]
              if c.method == "chat.postMessage" and c.params.get("channel") == GENERAL]  # fmt: skip
    cell.look(json.dumps(post, ensure_ascii=False), also=PRIVATE_TAGS)
    cell.count(name, card_lines(post["blocks"]))


def digests(rig: Rig, *, now: datetime) -> dict[str, dict[str, Any]]:
    """Everyone's weekly digest, sent by the pass at `now`, by whom it went to."""
    rig.at(now)
    before = len(rig.slack.calls)
    DigestPass(rig.services, web_client(rig.services.settings), pace_seconds=0).run(TEAM, now=now)
    sent = [c.params for c in rig.slack.calls[before:] if c.method == "chat.postMessage"]
    return {str(params["channel"]): params for params in sent if "Your week on Peershelf" in json.dumps(params)}


def read_digest(cell: Cell, rig: Rig) -> None:
    rig.at(THURSDAY)
    cell.look(preview_text(rig.driver, rig.slack, OLI))  # the preview
    digest = digests(rig, now=NEXT_MONDAY)[OLI]
    cell.look(json.dumps(digest, ensure_ascii=False))
    cell.count("digest", card_lines(digest["blocks"]))


def read_report(cell: Cell, rig: Rig, name: str, *, now: datetime) -> None:
    """`peershelf report`'s page: its words, and every number on it (tiles, charts, tables)."""
    page = report_html(rig.services, team_id=TEAM, weeks=2, now=now)
    cell.look(page, also=(f"#{TOPIC_HASHTAG}", "Sam"))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    cell.count(
        f"{name} tiles", {what: int(n) for n, what in re.findall(r"<b>([\d,]+)</b><span>([a-z ]+)</span>", page)}
    )
    charted = re.findall(r"<text[^>]*>(#[^<]*)</text>", page)  # the topics
    cell.count(f"{name} charts", [charted, re.findall(r'<desc class="value">([^<]*)</desc>', page)])  # every point
    cell.count(f"{name} tables", text[text.index("Most recommended") : text.index("Made by")])


def read_item_numbers(cell: Cell, rig: Rig, guess: int) -> None:
    """Oli tries the private item's number wherever an ITEM or a button takes one."""
    for command in (f"done {guess}", f"tag {guess} #devops", f"recommend <@{BEN}> {guess}", f'list add "Mine" {guess}'):
        cell.look(rig.command(command, OLI))
    start = len(rig.slack.calls)
    for action in ("item_save", "item_done", "item_recommend"):
        before = len(answers_to_oli(rig, since=start))
        rig.driver.press(action, str(guess), user=OLI)
        wait_for(lambda: len(answers_to_oli(rig, since=start)) > before)  # noqa: B023
    for answer in answers_to_oli(rig, since=start):
        cell.look(answer)


def answers_to_oli(rig: Rig, *, since: int) -> list[str]:
    """How Slack answered Oli's presses: in the conversation, in a DM, or with a modal."""
    calls = rig.slack.calls[since:]
    answers = [json.dumps(c.params, ensure_ascii=False) for c in calls if c.method in ("response_url", "views.open")]
    return answers + rig.delivered_to(OLI, since=since)


def read_notices(cell: Cell, rig: Rig, *, since: int = 0) -> None:
    """Everything Slack showed Oli: DMs (recommendation notices, digests), ephemerals (heads-ups)."""
    for shown in rig.delivered_to(OLI, since=since):
        cell.look(shown)


def phase_a(world: World, rig: Rig) -> None:
    """Oli looks around during the week and after it, before he ever posts the link."""
    rig.at(THURSDAY)
    read_searches(world, rig)
    readers: list[tuple[str, Callable[[Cell, Rig], None]]] = [
        ("top", partial(read_top, name="top")),
        ("home", read_home),
        ("lists", read_lists),
        ("export", read_export),
        ("inspect", read_inspect),
        ("tagger", read_tagger),
        ("roundup", partial(read_roundup, name="roundup", now=ROUNDUP_AT)),
        ("digest", read_digest),
        ("report", partial(read_report, name="report", now=NEXT_MONDAY)),
        ("item_numbers", partial(read_item_numbers, guess=world.secret.item_id or 10_000)),
    ]
    for surface, reader in readers:
        with world.read(surface) as cell:
            reader(cell, rig)
    with world.read("notices") as cell:
        rig.at(NEXT_MONDAY + timedelta(minutes=30))
        send_due_notices(rig.services)  # Ivy's thanks reach whoever sent her the item
        read_notices(cell, rig)


def phase_b(world: World, rig: Rig, fetcher: Fetcher) -> None:
    """The link reaches the open: Ana posts it in #general, then Oli does. The page is anyone's to
    see now; nothing else of the source is. Just before, Ivy saved what she was sent: a save done in
    private, which no number may count."""
    if world.secret.sent_to_ivy:
        rig.at(NEXT_MONDAY - timedelta(minutes=30))
        rig.driver.press("rec_save", str(world.secret.sent_to_ivy), user=IVY, channel="D" + IVY[1:])
    rig.at(NEXT_MONDAY + timedelta(minutes=45))
    rig.driver.event(message(f"<{world.secret.link}>", user=ANA, ts=ts(NEXT_MONDAY, 6)))
    read_pages(rig, fetcher)
    rig.at(NEXT_MONDAY + timedelta(hours=1))
    start = len(rig.slack.calls)
    with world.read("heads_up", in_the_open=True) as cell:
        rig.driver.event(message(f"have a look <{world.secret.link}>", user=OLI, ts=ts(NEXT_MONDAY, 7)))
        read_notices(cell, rig, since=start)
        told = [json.loads(shown)["text"] for shown in rig.delivered_to(OLI, since=start) if "Heads-up" in shown]
        cell.count("heads-up", told)  # that Ana shared it first, and how many saved it since

    rig.at(NEXT_MONDAY + timedelta(hours=2))
    read_searches(world, rig, in_the_open=True)
    friday = NEXT_MONDAY + timedelta(days=4, hours=-2, minutes=-59)  # that week's roundup, Friday 09:01
    readers: list[tuple[str, Callable[[Cell, Rig], None]]] = [
        ("top_in_the_open", partial(read_top, name="top in the open")),
        ("report_in_the_open", partial(read_report, name="report_in_the_open", now=rig.services.clock())),
        ("roundup_in_the_open", partial(read_roundup, name="roundup in the open", now=friday)),
        ("digest_in_the_open", read_digests_next_week),
        ("suggestions", read_suggestions),
    ]
    for surface, reader in readers:
        with world.read(surface, in_the_open=True) as cell:
            reader(cell, rig)
    with world.read("notices", in_the_open=True) as cell:
        read_notices(cell, rig, since=start)


def read_digests_next_week(cell: Cell, rig: Rig) -> None:
    """The next Monday's digests of Oli and of Carol, who follows Ben and Ivy."""
    sent = digests(rig, now=NEXT_MONDAY + timedelta(days=7))
    cell.look(json.dumps([sent.get(OLI), sent[CAROL]], ensure_ascii=False), also=PRIVATE_TAGS)
    cell.count("a colleague's digest", card_lines(sent[CAROL]["blocks"]))


def read_suggestions(cell: Cell, rig: Rig) -> None:
    """Oli saves the link: the colleagues suggested to him, and the topics they share with it."""
    said, shown = command_blocks(rig, f"save {cell.world.secret.link}")
    # Who is suggested is compared with the world without the private source (below): a private
    # sharer suggested for their interests, as they would be anyway, says nothing.
    cell.look(said.split("Colleagues interested in this")[0], also=PRIVATE_TAGS)
    cell.count("suggested", re.findall(r"<@(\w+)> \(([^)]*)\)", json.dumps(shown)))


def run_cli(*args: str, rig: Rig) -> str:
    """`peershelf …` as an admin runs it on this world's database, in this process."""
    out = io.StringIO()
    level = logging.getLogger().level
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(tagging, "_learned", {})  # a fresh process has learned nothing yet
        for name in [n for n in os.environ if n.startswith(("SLACK_", "SHELF_", "DATABASE_"))]:
            patch.delenv(name)
        patch.setenv("DATABASE_URL", rig.database_url)
        patch.chdir(rig.tmp)
        status = cli.main(list(args))
    logging.getLogger().setLevel(level)
    assert status == 0, out.getvalue()
    return out.getvalue()


# -- the matrix ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def fetcher() -> Iterator[Fetcher]:
    reader = Fetcher(timeout=5, max_bytes=2_000_000, allow_private=True, resolver=offline_resolver)
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest,
    backend: str,
    site: PageServer,
    fetcher: Fetcher,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    """One world per source and backend, built and read once for all its cells."""
    source = str(request.param)
    tmp = tmp_path_factory.mktemp(f"{backend}-{source}")
    if backend == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp / "peershelf.db")
        database_url = f"sqlite:///{tmp / 'peershelf.db'}"
    else:
        database_url = str(request.getfixturevalue("postgres_database"))
        _empty_postgres(database_url)
    found = World(source)
    with running_app(database_url, f"{site.url}/pages/{TITLE_WORD}", tmp) as rig:
        try:
            public_week(rig)
            found.secret = SOURCES[source](rig, fetcher)
            found.secret.link = found.secret.link or rig.page_url
        except Exception as error:
            logging.getLogger(__name__).exception("building %s", source)
            found.built.append(f"the world could not be built: {type(error).__name__}: {error}")
            return found
        phase_a(found, rig)
        phase_b(found, rig, fetcher)
    return found


SURFACES = (
    # while the page is known only in private
    "search_title", "search_context", "search_hashtag", "top", "digest", "roundup", "home", "lists", "report",
    "export", "inspect", "tagger", "item_numbers", "notices",
    # once Oli posted it in #general
    "heads_up", "search_in_the_open", "top_in_the_open", "report_in_the_open", "roundup_in_the_open",
    "digest_in_the_open", "suggestions",
)  # fmt: skip


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("world", list(SOURCES), indirect=True)
def test_an_outsider_sees_nothing_of_it(world: World, surface: str) -> None:
    assert not world.built, world.built
    assert world.problems.get(surface) == [], "\n".join(world.problems.get(surface) or ["not read"])
    shown = {name: value for name, value in world.numbers.items() if name in NUMBERS.get(surface, ())}
    expected = {**EXPECTED, **({} if world.secret.link_is_the_page else ELSEWHERE)}
    assert shown == {name: json.loads(json.dumps(expected[name])) for name in shown}, "not as without it"


NUMBERS = {
    "top": ("top",),
    "home": ("home top",),
    "lists": ("feed entries",),
    "roundup": ("roundup",),
    "digest": ("digest",),
    "report": ("report tiles", "report charts", "report tables"),
    "top_in_the_open": ("top in the open",),
    "report_in_the_open": ("report_in_the_open tiles", "report_in_the_open charts", "report_in_the_open tables"),
    "roundup_in_the_open": ("roundup in the open",),
    "digest_in_the_open": ("a colleague's digest",),
    "heads_up": ("heads-up",),
    "suggestions": ("suggested",),
}


def _line(slug: str, facts: str) -> str:
    url = f"https://example.com/{slug}"
    return f"{url} ({url}) — article · {facts}"


BASICS, TERRAFORM, DOCKER = "public-kubernetes-basics", "public-terraform-notes", "public-docker-tips"
ANAS_POST = f"https://acme-learning.slack.com/archives/{GENERAL}/p{ts(NEXT_MONDAY, 6).replace('.', '')}"
# What Oli is shown in the world without a private source (`nothing`): every world shows him these.
EXPECTED: dict[str, Any] = {
    "top": ["Top of the week — by how many colleagues shared, saved or recommended it",
            _line(BASICS, "#devops · 3 people"), _line(DOCKER, "#devops · 1 person"),
            _line(TERRAFORM, "#devops · 1 person")],
    "home top": [_line(BASICS, "3 people"), _line(DOCKER, "1 person"), _line(TERRAFORM, "1 person")],
    "feed entries": [[PUBLIC[0]]],
    "roundup": ["The week in #C0GENERAL1 — what was shared here and saved most",
                _line(BASICS, "#devops · shared by 1 person, saved by 1"),
                _line(DOCKER, "#devops · shared by 1 person"), _line(TERRAFORM, "#devops · shared by 1 person"),
                "  Peershelf posts this every week; /shelf roundup off stops it."],
    "digest": ["Your week on Peershelf", "======================",
               "New in lists you subscribe to", _line(BASICS, "#devops"), "in _Picks_",
               "New from people you follow", _line(TERRAFORM, "#devops"), f"shared by @{BEN}",
               "Top of the week in your interests", _line(DOCKER, "#devops"), "1 person",
               "  Change when this arrives with /shelf digest day … / time …, or /shelf digest off."],
    "report tiles": {"people took part": 3, "shares": 3, "saves": 1, "recommendations": 1},
    # Shares, saves and recommendations a week; people a week; #devops in each half of the span.
    "report charts": [["#devops"], ["3", "0", "1", "0", "1", "0", "3", "0", "0", "5"]],
    "report tables": f"Most recommended Item Recommendations By {PUBLIC[0]} 1 1 person "
                     "Most subscribed lists List Curator Subscribers Items Picks Ivy 1 1 ",
    "suggested": [(BEN, "#devops"), (IVY, "#devops"), (SAM, "#devops")],
    # Once Ana, then Oli, posted the page in #general (LINK), on Monday; then that week's roundup;
    # then the next Monday's digest of Carol, who follows Ben and Ivy.
    "heads-up": [f"Heads-up: <LINK|{PAGE_TITLE}> was already shared by <@{ANA}> <{ANAS_POST}|in <#{GENERAL}>> "
                 "— 0 saves."],
    "top in the open": ["Top of the week — by how many colleagues shared, saved or recommended it",
                        _line(BASICS, "#devops · 3 people"), f"{PAGE_TITLE} (LINK) — article · #devops · 2 people",
                        _line(DOCKER, "#devops · 1 person"), _line(TERRAFORM, "#devops · 1 person")],
    "report_in_the_open tiles": {"people took part": 4, "shares": 5, "saves": 1, "recommendations": 1},
    "report_in_the_open charts": [["#devops"], ["3", "2", "1", "0", "1", "0", "3", "2", "2", "5"]],
    "report_in_the_open tables": f"Most recommended Item Recommendations By {PUBLIC[0]} 1 1 person "
                                 "Most subscribed lists List Curator Subscribers Items Picks Ivy 1 1 ",
    "roundup in the open": ["The week in #C0GENERAL1 — what was shared here and saved most",
                            f"{PAGE_TITLE} (LINK) — article · #devops · shared by 2 people",
                            "  Peershelf posts this every week; /shelf roundup off stops it."],
    "a colleague's digest": ["Your week on Peershelf", "======================",
                             "Recommended to you", _line(BASICS, "#devops"), f"recommended by @{BEN}",
                             "Picked for you", f"{PAGE_TITLE} (LINK) — article · #devops",
                             f"shared by @{ANA}, whose finds you keep",
                             "  Change when this arrives with /shelf digest day … / time …, or /shelf digest off."],
}  # fmt: skip
# When Oli's link is not the private item's page (a note's permalink names another item: a Slack
# message, unread, with no topics), what posting and saving it shows in a world without the note.
ELSEWHERE: dict[str, Any] = {
    "suggested": [],
    "a colleague's digest": [
        line.replace(f"{PAGE_TITLE} (LINK) — article · #devops", "LINK (LINK) — article")
        for line in EXPECTED["a colleague's digest"]
    ],
    "heads-up": [EXPECTED["heads-up"][0].replace(PAGE_TITLE, "LINK")],
    "top in the open": [*EXPECTED["top in the open"][:2], "LINK (LINK) — article · 2 people",
                        *EXPECTED["top in the open"][3:]],
    "report_in_the_open charts": [["#devops"], ["3", "2", "1", "0", "1", "0", "3", "2", "0", "5"]],
    "roundup in the open": [EXPECTED["roundup in the open"][0], "LINK (LINK) — article · shared by 2 people",
                            EXPECTED["roundup in the open"][2]],
}  # fmt: skip
