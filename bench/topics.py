"""Topic tagging over a labelled set: hit rate, precision, off-topic tagged, and time per item.

    python bench/topics.py [LABELLED.json]

LABELLED.json defaults to tests/fixtures/topics-dev.json: items with a title, a description
and the topics a person gave them (an empty list for off-topic content). Figures:
  hit        share of on-topic items with at least one right topic among those given
  precision  share of all given topics that are right
  off-topic  share of off-topic items that were given any topic (lower is better)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.reading.topics import load_taxonomy  # noqa: E402


def evaluate(items: list[dict[str, Any]]) -> dict[str, float]:
    taxonomy = load_taxonomy()
    started = time.perf_counter()
    given = [[m.slug for m in taxonomy.tag(title=i["title"], description=i.get("description"))] for i in items]
    elapsed = time.perf_counter() - started
    on_topic = [(i, g) for i, g in zip(items, given, strict=True) if i["topics"]]
    off_topic = [(i, g) for i, g in zip(items, given, strict=True) if not i["topics"]]
    hits = sum(1 for i, g in on_topic if set(g) & set(i["topics"]))
    right = sum(len(set(g) & set(i["topics"])) for i, g in zip(items, given, strict=True))
    total_given = sum(len(g) for g in given)
    return {
        "items": len(items),
        "hit": hits / len(on_topic) if on_topic else 0.0,
        "precision": right / total_given if total_given else 0.0,
        "off_topic_tagged": sum(1 for _, g in off_topic if g) / len(off_topic) if off_topic else 0.0,
        "ms_per_item": elapsed / len(items) * 1000,
    }


def main() -> None:
    default = Path(__file__).resolve().parents[1] / "tests/fixtures/topics-dev.json"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    items = json.loads(path.read_text())
    evaluate(items[:5])  # warm up: load the taxonomy
    figures = evaluate(items)
    print(
        f"{path}: {figures['items']:.0f} items: hit {figures['hit']:.1%}, precision {figures['precision']:.1%}, "
        f"off-topic tagged {figures['off_topic_tagged']:.1%}, {figures['ms_per_item']:.3f} ms/item"
    )


if __name__ == "__main__":
    main()
