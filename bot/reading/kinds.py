"""What kind of thing a link is: article, video, book, podcast, paper, course, repo or other."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# (host pattern, path pattern, kind). Hosts match the end of the host name ("www." and country
# domains included); paths match from the start of the path.
_URL_RULES: list[tuple[str, str, str]] = [
    (r"(^|\.)youtube\.com$", r"/(watch|shorts/|live/|embed/|v/)", "video"),
    (r"(^|\.)youtu\.be$", r"/.", "video"),
    (r"(^|\.)vimeo\.com$", r"/(\d+|video/\d+|channels/[^/]+/\d+)", "video"),
    (r"(^|\.)loom\.com$", r"/(share|embed)/", "video"),
    (r"(^|\.)ted\.com$", r"/talks/", "video"),
    (r"(^|\.)wistia\.(com|net)$", r"/", "video"),
    (r"(^|\.)twitch\.tv$", r"/videos/", "video"),
    (r"(^|\.)amazon\.[a-z.]+$", r"/(.*/)?(dp|gp/product)/", "book"),
    (r"(^|\.)goodreads\.com$", r"/book/show/", "book"),
    (r"(^|\.)openlibrary\.org$", r"/(works|books|isbn)/", "book"),
    (r"(^|\.)bookshop\.org$", r"/(p|books|a/\d+)/", "book"),
    (r"(^|\.)books\.google\.[a-z.]+$", r"/", "book"),
    (r"(^|\.)oreilly\.com$", r"/library/view/", "book"),
    (r"(^|\.)manning\.com$", r"/books/", "book"),
    (r"(^|\.)pragprog\.com$", r"/titles/", "book"),
    (r"(^|\.)arxiv\.org$", r"/(abs|pdf|html)/", "paper"),
    (r"(^|\.)doi\.org$", r"/10\.", "paper"),
    (r"(^|\.)dl\.acm\.org$", r"/doi/", "paper"),
    (r"(^|\.)ieeexplore\.ieee\.org$", r"/(document|abstract)/", "paper"),
    (r"(^|\.)semanticscholar\.org$", r"/paper/", "paper"),
    (r"(^|\.)papers\.ssrn\.com$", r"/", "paper"),
    (r"(^|\.)biorxiv\.org$|(^|\.)medrxiv\.org$", r"/content/", "paper"),
    (r"(^|\.)usenix\.org$", r"/conference/.+/presentation/", "paper"),
    (r"(^|\.)github\.com$", r"/[^/]+/[^/]+/?$|/[^/]+/[^/]+/(tree|blob)/", "repo"),
    (r"(^|\.)gitlab\.com$", r"/[^/]+/[^/]+/?$|/[^/]+/[^/]+/-/(tree|blob)/", "repo"),
    (r"(^|\.)bitbucket\.org$", r"/[^/]+/[^/]+/?$", "repo"),
    (r"(^|\.)codeberg\.org$", r"/[^/]+/[^/]+/?$", "repo"),
    (r"(^|\.)podcasts\.apple\.com$", r"/", "podcast"),
    (r"(^|\.)open\.spotify\.com$", r"/(episode|show)/", "podcast"),
    (r"(^|\.)overcast\.fm$", r"/", "podcast"),
    (r"(^|\.)pca\.st$|(^|\.)pocketcasts\.com$", r"/", "podcast"),
    (r"(^|\.)podbean\.com$|(^|\.)transistor\.fm$|(^|\.)simplecast\.com$", r"/", "podcast"),
    (r"(^|\.)coursera\.org$", r"/(learn|specializations|professional-certificates)/", "course"),
    (r"(^|\.)udemy\.com$", r"/course/", "course"),
    (r"(^|\.)edx\.org$", r"/(course|learn)/", "course"),
    (r"(^|\.)pluralsight\.com$", r"/courses/", "course"),
    (r"(^|\.)linkedin\.com$", r"/learning/", "course"),
    (r"(^|\.)khanacademy\.org$", r"/", "course"),
    (r"(^|\.)egghead\.io$", r"/courses/", "course"),
    (r"(^|\.)frontendmasters\.com$", r"/courses/", "course"),
]
_COMPILED = [(re.compile(h), re.compile(p), kind) for h, p, kind in _URL_RULES]
# GitHub paths that are not repositories.
_GITHUB_NOT_REPO = re.compile(r"^/(orgs|settings|marketplace|topics|collections|sponsors|features|about)/")

# og:type and JSON-LD @type values (lower-cased) that name a kind.
_TYPE_KINDS = {
    "video": "video",
    "video.movie": "video",
    "video.episode": "video",
    "video.other": "video",
    "videoobject": "video",
    "book": "book",
    "books.book": "book",
    "music.song": "other",
    "podcastepisode": "podcast",
    "podcastseries": "podcast",
    "course": "course",
    "scholarlyarticle": "paper",
    "softwaresourcecode": "repo",
    "article": "article",
    "newsarticle": "article",
    "blogposting": "article",
    "techarticle": "article",
    "report": "article",
}


def kind_from_url(url: str) -> str | None:
    """The kind a URL alone tells, or None when it tells nothing."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    for host_rule, path_rule, kind in _COMPILED:
        if host_rule.search(host) and path_rule.match(path):
            if kind == "repo" and host.endswith("github.com") and _GITHUB_NOT_REPO.match(path):
                continue
            return kind
    if path.lower().endswith(".pdf"):
        return "paper" if host.endswith((".edu", ".ac.uk")) else "other"
    return None


def kind_of(url: str, *, types: Iterable[str] = (), content_type: str | None = None) -> str:
    """URL patterns first (a YouTube link is a video whatever its page says), then page metadata."""
    from_url = kind_from_url(url)
    if from_url is not None:
        return from_url
    for value in types:
        kind = _TYPE_KINDS.get(value.lower())
        if kind is not None:
            return kind
    if content_type is not None:
        if content_type.startswith("video/"):
            return "video"
        if content_type.startswith("audio/"):
            return "podcast"
        if content_type in ("text/html", "application/xhtml+xml"):
            return "article"
        return "other"
    return "article"
