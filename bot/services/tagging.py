"""Applying the tagger's topics to items (people's corrections stay)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.reading.topics import Taxonomy, TopicMatch
from storage import tags as tag_store
from storage.models import Item


def auto_tag(
    session: Session, taxonomy: Taxonomy, item: Item, *, now: datetime, keywords: list[str] | None = None
) -> list[TopicMatch]:
    """Run the tagger over what is known of the item and store its topics (people's corrections stay)."""
    url = item.url if item.url.startswith(("http://", "https://")) else None
    matches = taxonomy.tag(
        title=item.title, description=item.description, keywords=keywords, site=item.site_name, url=url
    )
    tag_store.replace_auto_tags(
        session=session, item=item, topics=[(m.slug, ", ".join(m.evidence)) for m in matches], now=now
    )
    return matches
