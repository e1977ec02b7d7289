"""Applying the tagger's topics to items (people's corrections stay, and teach the tagger)."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlmodel import Session

from bot.reading.topics import Colleagues, Correction, Taxonomy, TopicMatch
from storage import tags as tag_store
from storage.models import Item

# What each workspace's corrections taught, kept until someone tags or untags again.
_learned: dict[tuple[int, str], tuple[tuple[int, str], Colleagues]] = {}
_lock = threading.Lock()


def colleagues(session: Session, taxonomy: Taxonomy, team_id: str) -> Colleagues:
    """What people in this workspace taught the tagger with /shelf tag and untag (this workspace only)."""
    topics = list(taxonomy.topics)
    version = tag_store.corrections_version(session=session, team_id=team_id, topics=topics)
    key = (id(taxonomy), team_id)
    with _lock:
        cached = _learned.get(key)
    if cached and cached[0] == version:
        return cached[1]
    rows = tag_store.corrections(session=session, team_id=team_id, topics=topics)
    learned = Colleagues.learn([Correction(text, topic, added, by) for text, topic, added, by in rows], taxonomy)
    with _lock:
        if len(_learned) > 1000:
            _learned.clear()
        _learned[key] = (version, learned)
    return learned


def auto_tag(
    session: Session,
    taxonomy: Taxonomy,
    item: Item,
    *,
    now: datetime,
    keywords: list[str] | None = None,
    matches: list[TopicMatch] | None = None,
) -> list[TopicMatch]:
    """Run the tagger over what is known of the item (unless its `matches` were worked out
    already) and store its topics (people's corrections stay)."""
    if matches is None:
        matches = topics_of(session, taxonomy, item, keywords=keywords)
    tag_store.replace_auto_tags(session=session, item=item, topics=[(m.slug, m.explain()) for m in matches], now=now)
    return matches


def topics_of(
    session: Session, taxonomy: Taxonomy, item: Item, *, keywords: list[str] | None = None
) -> list[TopicMatch]:
    """The tagger's topics for the item as it is (or is about to be), with its workspace's corrections."""
    return topics_with(taxonomy, item, colleagues(session, taxonomy, item.team_id), keywords=keywords)


def topics_with(
    taxonomy: Taxonomy, item: Item, learned: Colleagues, *, keywords: list[str] | None = None
) -> list[TopicMatch]:
    """The tagger's topics for the item, with corrections already read (`colleagues`)."""
    url = item.url if item.url.startswith(("http://", "https://")) else None
    return taxonomy.tag(
        title=item.title, description=item.description, keywords=keywords, site=item.site_name, url=url,
        colleagues=learned,
    )  # fmt: skip
