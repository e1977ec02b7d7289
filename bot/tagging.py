"""Applying topics to items: the tagger's, #hashtags', channels' and people's."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from bot.topics import Taxonomy, TopicMatch, words
from storage import items as item_store
from storage.models import Item

_FREE = re.compile(r"[^\W_]+", re.UNICODE)


def auto_tag(
    session: Session, taxonomy: Taxonomy, item: Item, *, now: datetime, keywords: list[str] | None = None
) -> list[TopicMatch]:
    """Run the tagger over what is known of the item and store its topics (people's corrections stay)."""
    url = item.url if item.url.startswith(("http://", "https://")) else None
    matches = taxonomy.tag(
        title=item.title, description=item.description, keywords=keywords, site=item.site_name, url=url
    )
    item_store.replace_auto_tags(
        session=session, item=item, topics=[(m.slug, ", ".join(m.evidence)) for m in matches], now=now
    )
    item_store.index_item(session=session, item=item)
    return matches


def normalise_tag(taxonomy: Taxonomy, tag: str) -> str:
    """A #hashtag as stored: its topic's slug through synonyms (#k8s → devops), else a free tag."""
    return taxonomy.resolve(tag) or "-".join(_FREE.findall(tag.lower()))[:64]


def channel_topics(taxonomy: Taxonomy, name: str | None, purpose: str | None) -> list[str]:
    """Topics a channel is about: named in its name (#eng-python, #ux-research) or clear from its purpose."""
    found: list[str] = []
    parts = words(name or "")
    candidates = [*parts, *("-".join(pair) for pair in zip(parts, parts[1:], strict=False))]
    for candidate in candidates:
        slug = taxonomy.resolve(candidate)
        if slug and slug not in found:
            found.append(slug)
    for match in taxonomy.tag(description=purpose):
        if match.slug not in found:
            found.append(match.slug)
    return found[:3]
