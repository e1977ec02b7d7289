"""What kind of thing a link is, from its URL first and its page second."""

from __future__ import annotations

import pytest

from bot.reading.kinds import kind_from_url, kind_of


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "video"),
        ("https://youtu.be/dQw4w9WgXcQ", "video"),
        ("https://vimeo.com/76979871", "video"),
        ("https://www.loom.com/share/0281766fa2d04bb788eaf19e65135184", "video"),
        ("https://www.ted.com/talks/brene_brown_the_power_of_vulnerability", "video"),
        ("https://www.amazon.com/Thinking-Systems-Donella-H-Meadows/dp/1603580557", "book"),
        ("https://www.amazon.co.uk/dp/1603580557", "book"),
        ("https://www.goodreads.com/book/show/3828382-thinking-in-systems", "book"),
        ("https://openlibrary.org/isbn/9781603580557", "book"),
        ("https://bookshop.org/p/books/thinking-in-systems/123", "book"),
        ("https://arxiv.org/abs/1706.03762", "paper"),
        ("https://doi.org/10.1145/3361566", "paper"),
        ("https://dl.acm.org/doi/10.1145/3361566", "paper"),
        ("https://github.com/slackapi/bolt-python", "repo"),
        ("https://github.com/slackapi/bolt-python/tree/main/examples", "repo"),
        ("https://gitlab.com/gitlab-org/gitlab", "repo"),
        ("https://podcasts.apple.com/us/podcast/software-engineering-daily/id1019576853", "podcast"),
        ("https://open.spotify.com/episode/4rOoJ6Egrf8K2IrywzwOMk", "podcast"),
        ("https://www.coursera.org/learn/machine-learning", "course"),
        ("https://www.udemy.com/course/python-for-beginners/", "course"),
    ],
)
def test_kind_from_url(url: str, kind: str) -> None:
    assert kind_from_url(url) == kind


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/orgs/slackapi/repositories",
        "https://github.com/slackapi",
        "https://www.youtube.com/@slack",
        "https://example.com/blog/post",
        "https://www.amazon.com/",
    ],
)
def test_urls_that_say_nothing_about_kind(url: str) -> None:
    assert kind_from_url(url) is None


def test_page_metadata_decides_when_the_url_does_not() -> None:
    assert kind_of("https://example.com/talk", types=["video.other"]) == "video"
    assert kind_of("https://example.com/b", types=["books.book"]) == "book"
    assert kind_of("https://example.com/p", types=["scholarlyarticle"]) == "paper"
    assert kind_of("https://example.com/x", content_type="text/html") == "article"
    assert kind_of("https://example.com/x.zip", content_type="application/zip") == "other"
    assert kind_of("https://www.youtube.com/watch?v=x", types=["article"]) == "video"  # the URL wins
