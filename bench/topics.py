"""Topic tagging over labelled sets: hit rate, precision, off-topic tagged, and time per item.

    python bench/topics.py [--corpus PATH/TO/topics-train [--loso] [--zero-shot]] [LABELLED.json …]

Each labelled set is a JSON list of items with a title, a description and the topics a person gave
them (an empty list for off-topic content), under `topics` or, as in a gold set that lists every
fitting topic, `gold`; the default is tests/fixtures/topics-dev.json. With
--corpus (a folder holding items.jsonl, the labelled corpus the topic model learns from; not in
the repository), the held-out part of its split is measured too: the part that
scripts/build_topic_model.py never trains or tunes on. With --loso (needs scikit-learn), each source
of the corpus is also tagged by a calibration fitted on the other sources, as the build does. With
--zero-shot (needs the build's extra and sentence-transformers: pip install -e '.[build]'
sentence-transformers), the full all-MiniLM-L6-v2 compares each item with "This is about <label>."
for every topic, its threshold chosen on the corpus's training part by the build's rule, on the
same sets.

Two taggers are measured in the same run: Peershelf's (words + meaning + learned calibration) and
the taxonomy's words alone (the strongest topics whose lexicon points reach 3, as before the
model). Figures:
  hit        share of on-topic items with at least one right topic among those given
  precision  share of all given topics that are right
  off-topic  share of off-topic items that were given any topic (lower is better)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.reading.topics import DECISIVE, MAX_TOPICS, Taxonomy, load_taxonomy, shipped_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPLIT_SEED = "peershelf-topics-1"
HELD_OUT = 0.2

Item = dict[str, Any]
Tagger = Callable[[Item], list[str]]


def load_corpus(folder: Path) -> list[Item]:
    with (folder / "items.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def labelled(path: Path) -> list[Item]:
    """A labelled set, its labels under `topics` whether the file says `topics` or `gold`."""
    return [{**item, "topics": item.get("topics", item.get("gold", []))} for item in json.loads(path.read_text())]


def split(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """(train, held-out): a fixed fifth of each source, chosen by a hash of the item's id."""
    by_source: dict[str, list[Item]] = {}
    for item in items:
        by_source.setdefault(item["source"], []).append(item)
    train: list[Item] = []
    held_out: list[Item] = []
    for source in sorted(by_source):
        ordered = sorted(by_source[source], key=lambda i: hashlib.sha256(f"{SPLIT_SEED}:{i['id']}".encode()).digest())
        cut = round(len(ordered) * HELD_OUT)
        held_out += ordered[:cut]
        train += ordered[cut:]
    return train, held_out


def figures(items: list[Item], given: list[list[str]]) -> dict[str, float]:
    on_topic = [(i, g) for i, g in zip(items, given, strict=True) if i["topics"]]
    off_topic = [g for i, g in zip(items, given, strict=True) if not i["topics"]]
    hits = sum(1 for i, g in on_topic if set(g) & set(i["topics"]))
    right = sum(len(set(g) & set(i["topics"])) for i, g in zip(items, given, strict=True))
    total = sum(len(g) for g in given)
    return {
        "items": len(items),
        "hit": hits / len(on_topic) if on_topic else float("nan"),
        "precision": right / total if total else float("nan"),
        "off_topic": sum(1 for g in off_topic if g) / len(off_topic) if off_topic else float("nan"),
    }


def peershelf(taxonomy: Taxonomy) -> Tagger:
    return lambda i: [m.slug for m in taxonomy.tag(title=i["title"], description=i.get("description"))]


def words_alone(taxonomy: Taxonomy) -> Tagger:
    """The taxonomy's lexicon on its own: topics with decisive points, a third of the best, off-work vetoes."""

    def tag(item: Item) -> list[str]:
        points, _, _ = taxonomy._points(  # noqa: SLF001 - the baseline is the tagger's own first signal
            title=item["title"], description=item.get("description"), keywords=None, site=None, url=None
        )
        topics = {slug: p for slug, p in points.items() if not slug.startswith("elsewhere:")}
        if not topics:
            return []
        best = max(topics.values())
        elsewhere = max((p for slug, p in points.items() if slug.startswith("elsewhere:")), default=0.0)
        if elsewhere >= 0.5 * best:
            return []
        ranked = sorted(topics.items(), key=lambda pair: (-pair[1], pair[0]))[:MAX_TOPICS]
        return [slug for slug, p in ranked if p >= DECISIVE and p >= 0.34 * best]

    return tag


def measure(name: str, items: list[Item], taggers: dict[str, Tagger]) -> list[str]:
    lines = []
    for label, tagger in taggers.items():
        for item in items[:5]:
            tagger(item)  # warm up
        timings = []
        given = []
        for item in items:
            started = time.perf_counter()
            given.append(tagger(item))
            timings.append((time.perf_counter() - started) * 1000)
        f = figures(items, given)
        lines.append(
            f"{name:<28} {label:<12} {f['items']:>5.0f} items  hit {f['hit']:6.1%}  precision {f['precision']:6.1%}  "
            f"off-topic {f['off_topic']:6.1%}  {statistics.median(timings):.3f} ms/item median"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="folder with items.jsonl (measures its held-out split)")
    parser.add_argument("--loso", action="store_true", help="leave one corpus source out (refits, scikit-learn)")
    parser.add_argument("--zero-shot", action="store_true", help="the full sentence model zero-shot (torch)")
    parser.add_argument("labelled", nargs="*", type=Path, default=[ROOT / "tests/fixtures/topics-dev.json"])
    args = parser.parse_args()
    if (args.loso or args.zero_shot) and not args.corpus:
        parser.error("--loso and --zero-shot need --corpus")
    started = time.perf_counter()
    taxonomy = load_taxonomy()
    taxonomy.tag(title="warm up")
    print(f"taxonomy and topic model loaded in {(time.perf_counter() - started) * 1000:.0f} ms")
    taggers = {"peershelf": peershelf(taxonomy), "words alone": words_alone(taxonomy)}
    sets: list[tuple[str, list[Item]]] = [(path.name, labelled(path)) for path in args.labelled]
    corpus = load_corpus(args.corpus) if args.corpus else []
    train, held_out = split(corpus)
    if corpus:
        sets.insert(0, ("corpus held-out", held_out))
    for name, items in sets:
        print("\n".join(measure(name, items, taggers)))
    if args.loso or args.zero_shot:
        sys.path.insert(0, str(ROOT / "scripts"))
        import build_topic_model as build  # the build's own fitting, so the figures are the build's

        if args.loso:
            print("\nleave one source out (each source tagged by a calibration fitted on the others):")
            build.leave_one_source_out(taxonomy, corpus, shipped_model().threshold)
        if args.zero_shot:
            build.minilm_zero_shot(taxonomy, train, dict(sets))


if __name__ == "__main__":
    main()
