"""Finding links and ISBNs in what people write, and the canonical URL items are deduplicated on."""

from __future__ import annotations

from typing import Any

import pytest

from bot.reading.links import (
    Link,
    canonical_url,
    isbn13,
    isbns_in_text,
    links_in_blocks,
    links_in_message,
    links_in_text,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Read <https://example.com/a>", [Link("https://example.com/a")]),
        ("<https://example.com/a|the article> now", [Link("https://example.com/a", "the article")]),
        ("<https://example.com/?a=1&amp;b=2>", [Link("https://example.com/?a=1&b=2")]),
        ("<@U0BEN0001> <#C0GENERAL1|general> <!here> <mailto:a@b.co|a@b.co>", []),
        ("no links at all, just https://bare.example.com in text", []),
        ("<https://a.example/x> and again <https://a.example/x#intro>", [Link("https://a.example/x")]),
        ("<http://A.example/1> <https://b.example/2>", [Link("http://A.example/1"), Link("https://b.example/2")]),
    ],
)
def test_links_in_slack_markup(text: str, expected: list[Link]) -> None:
    assert links_in_text(text) == expected


def test_links_in_rich_text_blocks_including_nested_lists() -> None:
    blocks: list[dict[str, Any]] = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "Two picks: "},
                        {"type": "link", "url": "https://martinfowler.com/articles/microservices.html", "text": "MS"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "link", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}],
                        }
                    ],
                },
                {"type": "rich_text_section", "elements": [{"type": "link", "url": "slack://channel?id=C1"}]},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "<https://not-rich-text.example>"}},
    ]
    assert links_in_blocks(blocks) == [
        Link("https://martinfowler.com/articles/microservices.html", "MS"),
        Link("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ]


def test_a_link_in_both_blocks_and_text_counts_once() -> None:
    blocks = [{"type": "rich_text", "elements": [{"type": "link", "url": "https://example.com/a?utm_source=slack"}]}]
    assert links_in_message("<https://example.com/a>", blocks) == [Link("https://example.com/a?utm_source=slack")]


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80", "http://example.com/"),
        ("https://example.com/a/../b/./c", "https://example.com/b/c"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=slack&utm_medium=x&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=abc&gclid=def&msclkid=1", "https://example.com/a"),
        ("https://example.com/search?q=rust&page=2", "https://example.com/search?q=rust&page=2"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=share123", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("https://example.com/%7Euser", "https://example.com/~user"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Great book: ISBN 978-0-13-468599-1", ["9780134685991"]),
        ("isbn 0-13-468599-7 is the same book", ["9780134685991"]),
        ("ISBN-10 080442957X", ["9780804429573"]),
        ("9780134685991 and 978 0 13 468599 1", ["9780134685991"]),
        ("978-0-13-468599-2 has a wrong check digit", []),
        ("call me at 0123456789 please", []),  # a valid ISBN-10 checksum, but not called an ISBN
        ("ISBN: 0123456789", ["9780123456786"]),
        ("order 12345678901234 shipped", []),
        ("<https://example.com/9780134685991> is a link, not a mention", []),
    ],
)
def test_isbns_in_text_are_checksum_validated(text: str, found: list[str]) -> None:
    assert isbns_in_text(text) == found


def test_isbn10_converts_to_isbn13() -> None:
    assert isbn13("0-306-40615-2") == "9780306406157"


def test_the_longest_address_kept_is_the_longest_the_database_stores() -> None:
    from bot.reading.links import MAX_URL, keepable
    from storage.models import URL

    assert MAX_URL == URL
    assert keepable("https://example.com/" + "a" * (MAX_URL - 20))
    assert not keepable("https://example.com/" + "a" * MAX_URL)
    assert not keepable("http://[::1")
