"""Curated lists, subscriptions, RSS/Atom feeds in, and each list's Atom feed out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

import feedparser
import httpx
import pytest
from sqlmodel import select

from bot.demo.driver import SlackDriver
from bot.reading.fetcher import Fetcher
from bot.services import Services
from bot.services.feeds import FIRST_POLL_ENTRIES, POLL_EVERY, FeedPoller
from storage.models import CuratedList, Feed, ListItem
from tests.helpers import items, message, reply_text
from tests.pageserver import PageServer

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"


def rss(entries: Sequence[tuple[str, str | None, str]], *, ids: bool = True) -> str:
    """RSS 2.0: (title, link, summary) newest first; links may be relative."""

    def item(n: int, title: str, link: str | None, summary: str) -> str:
        parts = [f"<title>{title}</title>", f"<description>{summary}</description>"]
        if link:
            parts.append(f"<link>{link}</link>")
        if ids:
            parts.append(f"<guid isPermaLink='false'>tag:{title}</guid>")
        parts.append(f"<pubDate>Fri, 27 Nov 2026 0{n % 10}:00:00 GMT</pubDate>")
        return "<item>" + "".join(parts) + "</item>"

    body = "".join(item(n, *entry) for n, entry in enumerate(entries))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Eng blog</title><link>https://blog.example/</link>{body}</channel></rss>'


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Design notes</title><id>urn:design</id>
<updated>2026-11-27T00:00:00Z</updated>
<entry><title>Grids</title><id>urn:design:grids</id><link href="https://design.example/grids"/><updated>2026-11-26T00:00:00Z</updated>
<summary>&lt;p&gt;Layout grids &lt;b&gt;explained&lt;/b&gt;&lt;/p&gt;</summary></entry>
<entry><title>Type</title><id>urn:design:type</id><link href="https://design.example/type"/><updated>2026-11-25T00:00:00Z</updated></entry>
</feed>"""


def public_item(driver: SlackDriver, services: Services, url: str, ts: str) -> int:
    driver.event(message(f"<{url}>", ts=ts))
    return int(next(i.id for i in items(services) if i.url == url) or 0)


@pytest.fixture
def poller(services: Services, fetcher: Fetcher) -> FeedPoller:
    return FeedPoller(services, fetcher)


def test_create_add_show_and_remove(driver: SlackDriver, services: Services) -> None:
    first = public_item(driver, services, "https://example.com/onboarding-guide", "1764238600.000100")
    second = public_item(driver, services, "https://example.com/first-90-days", "1764238600.000200")
    assert "Created *Onboarding*" in reply_text(driver.command('list new "Onboarding" Reading for new engineers'))
    assert "already have a list called" in reply_text(driver.command('list new "onboarding"'))
    assert "Added" in reply_text(driver.command(f'list add "Onboarding" {first} start here'))
    driver.command(f'list add "Onboarding" {second}')
    assert "already on *Onboarding*" in reply_text(driver.command(f'list add "Onboarding" {first}'))
    shown = reply_text(driver.command('list show "onboarding"'))
    assert "*Onboarding* by <@U0ANA0001> — 2 items, 0 subscribers" in shown
    assert shown.index("first-90-days") < shown.index("onboarding-guide")  # newest first
    assert "_start here_" in shown
    assert "Took" in reply_text(driver.command(f'list remove "Onboarding" {second}'))
    assert "isn't on *Onboarding*" in reply_text(driver.command(f'list remove "Onboarding" {second}'))


def test_only_the_owner_curates_and_private_links_stay_off_lists(driver: SlackDriver, services: Services) -> None:
    driver.command('list new "Onboarding"')
    item = public_item(driver, services, "https://example.com/guide", "1764238600.000300")
    assert "You have no list called *Onboarding*" in reply_text(
        driver.command(f'list add "Onboarding" {item}', user=BEN)
    )
    driver.event(
        message("<https://example.com/private-plan>", channel="G0PRIVATE1", channel_type="group", ts="1764238600.4")
    )
    private = next(i.id for i in items(services) if "private-plan" in i.url)
    refused = reply_text(driver.command(f'list add "Onboarding" {private}'))
    assert "only shared privately" in refused and "wasn't added" in refused
    with services.new_session() as session:
        assert list(session.exec(select(ListItem))) == []


def test_lists_of_the_same_name_are_told_apart_by_owner(driver: SlackDriver) -> None:
    driver.command('list new "Reading"', user=ANA)
    driver.command('list new "Reading"', user=BEN)
    ambiguous = reply_text(driver.command('list show "Reading"', user=CAROL))
    assert "Several people have a list called *Reading*" in ambiguous
    assert f"by <@{BEN}>" in reply_text(driver.command(f'list show "Reading" <@{BEN}|ben>', user=CAROL))
    assert f"by <@{ANA}>" in reply_text(driver.command('list show "Reading"', user=ANA))  # your own first
    assert "There is no list called *Nope*" in reply_text(driver.command('list show "Nope"'))


def test_subscriptions_and_the_most_subscribed_lists(driver: SlackDriver) -> None:
    driver.command('list new "Rust"', user=ANA)
    driver.command('list new "Leadership"', user=BEN)
    assert "Subscribed to *Rust*" in reply_text(driver.command('subscribe "Rust"', user=BEN))
    driver.command('subscribe "Rust"', user=CAROL)
    driver.command('subscribe "Rust"', user=ANA)  # allowed, not counted
    assert "already subscribe" in reply_text(driver.command('subscribe "Rust"', user=BEN))
    top = reply_text(driver.command("lists"))
    assert top.index("*Rust*") < top.index("*Leadership*")
    assert "*Rust* by <@U0ANA0001> — 0 items, 2 subscribers" in top
    assert "*Leadership*" in reply_text(driver.command(f"lists <@{BEN}>"))
    assert "Unsubscribed" in reply_text(driver.command('unsubscribe "Rust"', user=CAROL))
    assert "weren't subscribed" in reply_text(driver.command('unsubscribe "Rust"', user=CAROL))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list", "What should I do with the list?"),
        ("list frobnicate", "What should I do with the list?"),
        ("list new", "Name the list"),
        ('list add "X"', "Say what to add"),
        ('list show "X" carol', "Name the owner with a mention"),
        ("feed add", "Name the list"),
        ('feed add "X" not a url', "Give the feed's address"),
        ("lists everyone", "Usage: `/shelf lists [@someone]`"),
    ],
)
def test_malformed_list_commands_get_usage(driver: SlackDriver, text: str, expected: str) -> None:
    assert expected in reply_text(driver.command(text))


def test_help_lists_every_list_subcommand(driver: SlackDriver) -> None:
    help_text = reply_text(driver.command("help"))
    for usage in (
        '/shelf list new "Name" [description]',
        '/shelf list add "Name" ITEM [note]',
        "/shelf lists [@someone]",
        '/shelf feed add "Name" FEED_URL',
        '/shelf subscribe "Name" [@owner]',
    ):
        assert usage in help_text


@pytest.fixture
def followed_feed(driver: SlackDriver, pages: PageServer, services: Services) -> Iterator[str]:
    name = f"eng-{len(pages.feeds)}"
    entries = [
        (f"Post {n}", f"/posts/{n}" if n % 2 else f"https://blog.example/posts/{n}", f"Summary {n}")
        for n in range(7, 0, -1)
    ]
    pages.feeds[name] = ("application/rss+xml", rss(entries))
    driver.command('list new "Eng blog"')
    assert "now follows" in reply_text(driver.command(f'feed add "Eng blog" {pages.url}/feed/{name}'))
    yield name


def list_urls(services: Services) -> list[str]:
    with services.new_session() as session:
        rows = session.exec(select(ListItem).order_by(ListItem.position))  # type: ignore[arg-type]
        ids = [row.item_id for row in rows]
    by_id = {i.id: i.url for i in items(services)}
    return [by_id[i] for i in ids]


def test_a_followed_feed_adds_its_latest_entries_once_and_polls_politely(
    followed_feed: str, poller: FeedPoller, services: Services, pages: PageServer
) -> None:
    assert poller.poll_due() == FIRST_POLL_ENTRIES
    urls = list_urls(services)
    assert len(urls) == FIRST_POLL_ENTRIES
    assert f"{pages.url}/posts/3" in urls  # a relative link, made absolute against the feed
    assert "https://blog.example/posts/6" in urls and "https://blog.example/posts/2" not in urls  # only the latest
    assert poller.poll_due() == 0  # within the hour: not even asked

    now = services.clock()
    services.clock = lambda: now + POLL_EVERY + timedelta(minutes=1)
    assert poller.poll_due() == 0
    assert pages.conditional[-1].get("If-None-Match")  # asked with the ETag and got 304

    content_type, _ = pages.feeds[followed_feed]
    newer = [
        ("Post 8", "https://blog.example/posts/8", "New!"),
        *[(f"Post {n}", f"https://blog.example/posts/{n}", "") for n in range(7, 0, -1)],
    ]
    pages.feeds[followed_feed] = (content_type, rss(newer))
    services.clock = lambda: now + 2 * POLL_EVERY + timedelta(minutes=2)
    assert poller.poll_due() == 1
    assert list_urls(services)[-1] == "https://blog.example/posts/8"
    [item] = [i for i in items(services) if i.url == "https://blog.example/posts/8"]
    assert (item.title, item.description, item.is_public) == ("Post 8", "New!", True)


def test_feeds_without_ids_are_added_once(
    driver: SlackDriver, pages: PageServer, poller: FeedPoller, services: Services
) -> None:
    pages.feeds["noid"] = (
        "application/rss+xml",
        rss([("A", "https://x.example/a", ""), ("B", "https://x.example/b", "")], ids=False),
    )
    driver.command('list new "X"')
    driver.command(f'feed add "X" {pages.url}/feed/noid')
    assert poller.poll_due() == 2
    pages.feeds["noid"] = (
        "application/rss+xml",
        rss([("A", "https://x.example/a", ""), ("B", "https://x.example/b", "")], ids=False) + " ",
    )
    now = services.clock()
    services.clock = lambda: now + POLL_EVERY + timedelta(minutes=1)
    assert poller.poll_due() == 0  # changed document, same entries


def test_atom_feeds_are_read_and_summaries_kept_as_text(
    driver: SlackDriver, pages: PageServer, poller: FeedPoller, services: Services
) -> None:
    pages.feeds["design"] = ("application/atom+xml", ATOM)
    driver.command('list new "Design"')
    driver.command(f'feed add "Design" {pages.url}/feed/design')
    assert poller.poll_due() == 2
    [grids] = [i for i in items(services) if i.url == "https://design.example/grids"]
    assert grids.description == "Layout grids explained"


def test_a_malformed_feed_is_recorded_and_backed_off(
    driver: SlackDriver, pages: PageServer, poller: FeedPoller, services: Services
) -> None:
    pages.feeds["broken"] = ("text/html", "<html><body>Not a feed at all</body></html>")
    driver.command('list new "Broken"')
    driver.command(f'feed add "Broken" {pages.url}/feed/broken')
    assert poller.poll_due() == 0
    with services.new_session() as session:
        [feed] = session.exec(select(Feed))
    assert feed.error_count == 1 and "not a readable RSS or Atom feed" in (feed.error or "")
    assert feed.next_poll_at is not None and feed.next_poll_at >= services.clock() + POLL_EVERY - timedelta(seconds=5)


def test_each_list_is_an_atom_feed(driver: SlackDriver, services: Services, app_url: str) -> None:
    first = public_item(driver, services, "https://example.com/one", "1764238700.000100")
    second = public_item(driver, services, "https://example.com/two", "1764238700.000200")
    driver.command('list new "Picks" The best of the week')
    driver.command(f'list add "Picks" {first} read the intro')
    driver.command(f'list add "Picks" {second} worth it')
    with services.new_session() as session:
        [curated] = session.exec(select(CuratedList))
    response = httpx.get(f"{app_url}/feeds/{curated.feed_token}.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    assert parsed.feed.title == "Picks"
    assert [e.link for e in parsed.entries] == ["https://example.com/two", "https://example.com/one"]
    assert [e.content[0].value for e in parsed.entries] == ["worth it", "read the intro"]
    assert httpx.get(f"{app_url}/feeds/not-a-token.atom").status_code == 404


def test_the_owner_is_shown_the_feed_url(serve_with: object, services: Services) -> None:
    driver = serve_with(base_url="https://shelf.example.com")  # type: ignore[operator]
    created = reply_text(driver.command('list new "Picks"'))
    with services.new_session() as session:
        [curated] = session.exec(select(CuratedList))
    assert f"https://shelf.example.com/feeds/{curated.feed_token}.atom" in created
    assert curated.feed_token in reply_text(driver.command('list show "Picks"'))
    assert curated.feed_token not in reply_text(driver.command('list show "Picks"', user=BEN))
