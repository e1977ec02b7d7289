"""`peershelf demo`: a scripted week in a small workspace, offline, printed as people would see it.

It runs the real app (the same HTTP endpoint as `peershelf run --http`) against the project's
fake Slack and a local server of sample pages, on a throw-away SQLite file. No network, no tokens.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.demo.driver import SlackDriver, load_payload
from bot.demo.fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from bot.reading.links import canonical_url
from bot.runtime.app import create_app
from bot.runtime.server import ServerThread, build_asgi
from bot.services import Services
from bot.services.digests.delivery import DigestPass
from bot.services.feeds import FeedPoller
from bot.services.members import refresh_members
from bot.services.pages import MetadataWorker
from bot.services.recommendation_dms import send_due_notices
from bot.services.shares import CaptureWorker
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.render import blocks_to_text, mrkdwn
from storage import items as item_store
from storage import migrate
from storage import recommendations as rec_store
from storage.models import Recommendation

PAGES = Path(__file__).with_name("pages")
SECRET = "demo-signing-secret"
PEOPLE = {  # four people in three time zones
    "U0DEMOANA1": ("Ana", "Europe/Berlin"),
    "U0DEMOBEN1": ("Ben", "America/New_York"),
    "U0DEMOCHN1": ("Chen", "Asia/Tokyo"),
    "U0DEMODRA1": ("Dara", "Europe/Berlin"),
}
ANA, BEN, CHEN, DARA = PEOPLE
CHANNELS = {"C0DEMOENG1": ("engineering", False), "G0DEMOLEAD": ("leads-private", True)}
MEMBERS = {"C0DEMOENG1": [ANA, BEN, CHEN, DARA], "G0DEMOLEAD": [CHEN, DARA]}  # who is in each channel


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class DemoResult:
    """What the demo showed, for the test that keeps it honest."""

    seen: dict[str, list[str]] = field(default_factory=lambda: {user: [] for user in PEOPLE})
    digests: dict[str, str | None] = field(default_factory=dict)
    scenes: list[str] = field(default_factory=list)


class Demo:
    def __init__(self, out: Callable[[str], None], step: bool, pause: Callable[[], None]) -> None:
        self.out, self.step, self.pause = out, step, pause
        self.result = DemoResult()
        self.ts = 1764500000
        self.seen_calls = 0
        self.dm_owner: dict[str, str] = {}

    def name(self, user_id: str) -> str:
        return PEOPLE.get(user_id, (user_id, ""))[0]

    # -- output ----------------------------------------------------------------------------------
    def scene(self, title: str, story: str) -> None:
        if self.result.scenes and self.step:
            self.pause()
        self.result.scenes.append(title)
        self.out(f"\n{'=' * 72}\n{title}\n{'=' * 72}\n{story}\n")

    def show(self, user_id: str, where: str, text: str) -> None:
        self.result.seen[user_id].append(text)
        indented = "\n".join("    " + line for line in text.splitlines())
        self.out(f"  {self.name(user_id)} sees ({where}):\n{indented}\n")

    def reply(self, user_id: str, response: Any) -> None:
        body = response.json()
        shown = blocks_to_text(body["blocks"], self.name) if body.get("blocks") else mrkdwn(body["text"], self.name)
        self.show(user_id, "only visible to you", shown)

    def new_calls(self) -> None:
        """Everything Peershelf posted since the last look, shown to whoever it was for."""
        for call in self.slack.calls[self.seen_calls :]:
            params = call.params
            if call.method == "chat.postMessage" and str(params.get("channel", "")).startswith("U"):
                text = (
                    blocks_to_text(params["blocks"], self.name)
                    if params.get("blocks")
                    else mrkdwn(params["text"], self.name)
                )
                self.show(params["channel"], "a DM from Peershelf", text)
            elif call.method == "chat.postEphemeral":
                text = (
                    blocks_to_text(params["blocks"], self.name)
                    if params.get("blocks")
                    else mrkdwn(params["text"], self.name)
                )
                self.show(params["user"], "only visible to you", text)
            elif call.method == "chat.update":
                self.show(
                    self.dm_owner.get(str(params.get("channel")), ANA),
                    "the DM, updated",
                    blocks_to_text(params["blocks"], self.name),
                )
        self.seen_calls = len(self.slack.calls)

    # -- Slack, played -------------------------------------------------------------------------
    def say(self, user_id: str, channel: str, text: str) -> str:
        self.ts += 1
        ts = f"{self.ts}.000100"
        private = CHANNELS[channel][1]
        event = {"type": "message", "channel": channel, "user": user_id, "text": text, "ts": ts,
                 "channel_type": "group" if private else "channel"}  # fmt: skip
        self.slack.add_message(channel, {k: v for k, v in event.items() if k != "channel_type"})
        self.driver.event(event)
        self.out(f"  #{CHANNELS[channel][0]} — {self.name(user_id)}: {mrkdwn(text, self.name)}")
        return ts

    def command(self, user_id: str, text: str) -> Any:
        self.out(f"  {self.name(user_id)} types: /shelf {mrkdwn(text, self.name)}")
        response = self.driver.command(text, user=user_id, channel="C0DEMOENG1")
        self.reply(user_id, response)
        return response

    def settle(self, expect: str | None = None) -> None:
        """Let background work finish: page fetches, and lazy listeners (which answer after Slack
        has its 200) until a call of `expect` has been made, and Slack has been quiet a moment."""
        self.worker.drain()
        deadline = time.monotonic() + 10
        while expect and time.monotonic() < deadline:
            if any(call.method == expect for call in self.slack.calls[self.seen_calls :]):
                break
            time.sleep(0.02)
        for _ in range(50):
            before = len(self.slack.calls)
            time.sleep(0.05)
            if len(self.slack.calls) == before:
                break

    # -- the week --------------------------------------------------------------------------------
    def run(self) -> DemoResult:
        with tempfile.TemporaryDirectory() as folder, _pages_server() as pages_url:
            self.slack = FakeSlack().start()
            for user_id, (name, tz) in PEOPLE.items():
                self.slack.add_user(user_id, name, tz=tz)
            for channel_id, (name, private) in CHANNELS.items():
                self.slack.add_channel(channel_id, name, private=private, members=MEMBERS[channel_id])
            self.clock = Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # Monday
            settings = Settings(
                slack_bot_token=BOT_TOKEN,
                slack_signing_secret=SECRET,
                slack_api_url=self.slack.api_url,
                database_url=f"sqlite:///{folder}/demo.db",
                fetch_allow_private=True,  # the sample pages are served on this machine
                fetch_timeout=5,
                base_url="https://peershelf.example.com",
            )
            services = Services.from_settings(settings, clock=self.clock)
            migrate.upgrade(services.engine)
            fetcher = settings.fetcher()
            self.worker = MetadataWorker(services, fetcher)
            refresh_members(services, TEAM_ID)  # what a worker reads of a newly installed workspace
            try:
                with ServerThread(build_asgi(create_app(services), services)) as app:
                    self.driver = SlackDriver(
                        app.url,
                        SECRET,
                        team_id=TEAM_ID,
                        response_url=self.slack.response_url,
                        then=CaptureWorker(services).drain,  # the worker's part, at once: the story goes on
                    )
                    self.week(services, pages_url, fetcher)
                    self.driver.close()
            finally:
                fetcher.close()
                self.slack.stop()
                services.engine.dispose()
        return self.result

    def week(self, services: Services, pages: str, fetcher: Any) -> None:
        self.pages_url = pages
        self.scene(
            "Monday · links shared in channels",
            "Ben, Chen and Dara share what they are reading. Peershelf catches each link and reads the\n"
            "page in the background; Dara's link is in a private channel, so it stays private.",
        )
        rust_ts = self.say(BEN, "C0DEMOENG1", f"Finally understood the borrow checker: <{pages}/rust-ownership.html>")
        self.say(
            CHEN, "C0DEMOENG1", f"Our next incident review should follow this <{pages}/blameless-postmortems.html>"
        )
        self.say(DARA, "G0DEMOLEAD", f"Draft for the leads only: <{pages}/reorg-plan.html>")
        self.say(DARA, "C0DEMOENG1", f"For everyone who just became a manager: <{pages}/one-on-ones.html> #mentoring")
        self.settle()
        self.command(ANA, "search reorg")
        self.command(DARA, "search reorg")
        self.new_calls()

        self.scene("Monday · Ana saves with a reaction", "Ana reacts with :bookmark: to Ben's message.")
        reaction = {
            "type": "reaction_added",
            "user": ANA,
            "reaction": "bookmark",
            "item": {"type": "message", "channel": "C0DEMOENG1", "ts": rust_ts},
            "item_user": BEN,
            "event_ts": f"{self.ts}.000200",
        }
        self.driver.event(reaction)
        self.settle(expect="chat.postEphemeral")
        self.new_calls()

        self.scene("Tuesday · interests, follows and a tag correction", "People tell Peershelf what they care about.")
        self.clock.now += timedelta(days=1)
        self.command(ANA, "interests #rust #testing")
        self.command(DARA, f"follow <@{BEN}|ben>")
        one_on_ones = self._item_id(services, "one-on-ones")
        self.command(DARA, f"tag {one_on_ones} #management")
        self.command(DARA, f"untag {one_on_ones} #mentoring")
        self.new_calls()

        self.scene("Wednesday · a recommendation, and a thank-you", "Chen recommends the postmortem article to Ana.")
        self.clock.now += timedelta(days=1)
        postmortems = self._item_id(services, "blameless-postmortems")
        self.command(CHEN, f"recommend <@{ANA}|ana> {postmortems} for our incident review on Friday")
        self.settle(expect="chat.postMessage")
        self.new_calls()
        rec = self._delivered(services)
        self.dm_owner[str(rec.dm_channel)] = ANA
        self.out("  Ana presses [Thanks] in the DM.")
        self.driver.press("rec_thanks", str(rec.id), user=ANA, channel=str(rec.dm_channel), message_ts=str(rec.dm_ts))
        self.settle(expect="chat.update")
        self.new_calls()
        self.clock.now += timedelta(minutes=10)
        send_due_notices(services)
        self.new_calls()

        self.scene("Thursday · a curated list that follows a feed", "Ben curates a list; Ana subscribes.")
        self.clock.now += timedelta(days=1)
        self.command(BEN, 'list new "Learning Rust" What helped me most')
        rust = self._item_id(services, "rust-ownership")
        self.command(BEN, f'list add "Learning Rust" {rust} start here')
        self.command(ANA, f'subscribe "Learning Rust" <@{BEN}|ben>')
        self.command(BEN, f'feed add "Learning Rust" {pages}/feed.xml')
        FeedPoller(services, fetcher).poll_due()
        self.settle()
        self.command(ANA, 'list show "Learning Rust"')
        self.new_calls()

        self.scene(
            "Next Monday · the weekly digests",
            "At 09:00 in each person's own time zone (Berlin, New York, Tokyo), one DM each; an empty\n"
            "digest is not sent.",
        )
        when = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # after 09:00 in New York, the last of the three
        self.clock.now = when
        self.seen_calls = len(self.slack.calls)
        DigestPass(services, web_client(services.settings), pace_seconds=0).run(TEAM_ID, now=when)
        for user_id in PEOPLE:
            sent = [c.params for c in self.slack.calls[self.seen_calls :]
                    if c.method == "chat.postMessage" and c.params.get("channel") == user_id]  # fmt: skip
            text = blocks_to_text(sent[0]["blocks"], self.name) if sent else None
            self.result.digests[user_id] = text
            if text:
                self.show(user_id, "the weekly digest DM", text)
            else:
                self.out(f"  {self.name(user_id)} gets no digest this week: nothing in it yet.\n")

        self.scene("Ana opens Peershelf's Home tab", "Her shelf, lists, interests, digest settings and the week's top.")
        self.seen_calls = len(self.slack.calls)
        self.driver.event(load_payload("app_home_opened.json") | {"user": ANA})
        self.settle(expect="views.publish")
        view = self.slack.calls_to("views.publish")[-1].params["view"]
        self.show(ANA, "the Home tab", blocks_to_text(view["blocks"], self.name))

    def _delivered(self, services: Services) -> Recommendation:
        """Ana's recommendation, once its DM is recorded (that happens just after Slack answers)."""
        for _ in range(200):
            with services.new_session() as session:
                [(rec, _)] = rec_store.received_by(session=session, team_id=TEAM_ID, user_id=ANA)
            if rec.dm_ts:
                return rec
            threading.Event().wait(0.025)
        raise RuntimeError("the recommendation DM was not recorded")

    def _item_id(self, services: Services, page: str) -> int:
        with services.new_session() as session:
            item = item_store.item_by_url(
                session=session, team_id=TEAM_ID, canonical_url=canonical_url(f"{self.pages_url}/{page}.html")
            )
        if item is None:
            raise LookupError(page)
        return int(item.id or 0)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _pages_server:  # noqa: N801 (used as a context manager)
    """The sample pages, served on a loopback port."""

    def __enter__(self) -> str:
        handler = partial(_QuietHandler, directory=str(PAGES))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_demo(
    out: Callable[[str], None] = print, *, step: bool = False, pause: Callable[[], None] = lambda: None
) -> DemoResult:
    """Play the week, printing what each person sees; returns it for checking."""
    out("Peershelf demo — a week in a small workspace (no network, no tokens; nothing leaves this machine)")
    return Demo(out, step, pause).run()
