"""Topics: the taxonomy (built in, or SHELF_TOPICS_FILE) and the tagger that applies it.

The tagger combines two signals and a learned calibration:
- words: weighted words and phrases found in an item's title (counted double), description,
  keywords, site and URL, matched longest-first so "machine learning" does not also count as
  "learning" (precise, but blind to prose that names no signal word);
- meaning: how close the item's sentence vector (bot.reading.meaning) comes to each topic's own
  vector, made from its label, `about` sentences and signal words, and to off-work anchors
  (sport, food, entertainment, politics, everyday life, hobbies);
- a small logistic model over both (bot/reading/model/topic_model.json, learned by
  scripts/build_topic_model.py) that turns them into a probability per topic.

A topic an admin adds with only a label and words gets a vector from them, so it works too.
Colleagues' corrections in a workspace (see `Colleagues`) move the probabilities for items like
the ones they corrected. When off-work content wins, nothing is tagged: a wrong tag costs more
than a missing one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import yaml

from bot.reading.meaning import MODEL_DIR, StaticEmbedding, shipped

BUILT_IN = Path(__file__).with_name("taxonomy.yml")
MODEL_FILE = MODEL_DIR / "topic_model.json"
VECTORS_FILE = MODEL_DIR / "topic_vectors.npz"  # the built-in taxonomy's vectors, computed once at build time
MAX_TOPICS = 3
DECISIVE = 3.0  # lexicon points that are decisive on their own (a weight-3 word, or a strong one in the title)
FIELD_WEIGHTS = {"title": 2.0, "keywords": 1.5, "description": 1.0, "site": 1.0, "url": 1.0}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Spellings whose punctuation carries meaning, rewritten before words are split.
_REWRITES = [
    (re.compile(r"c\+\+"), " cplusplus "),
    (re.compile(r"c#"), " csharp "),
    (re.compile(r"f#"), " fsharp "),
    (re.compile(r"\.net\b"), " dotnet "),
    (re.compile(r"\b(node|vue|next|react|nuxt|ember|backbone)\.js\b"), r" \1js "),
    (re.compile(r"\b1\s*:\s*1s?\b|\bone[- ]on[- ]ones?\b|\b1[- ]on[- ]1s?\b"), " one on one "),
    (re.compile(r"\bci\s*/\s*cd\b"), " ci cd "),
    (re.compile(r"\ba\s*/\s*b\b"), " a b "),
    (re.compile(r"\be-mail"), " email"),
]
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, when PyYAML was built with it


class TaxonomyError(ValueError):
    """The topics file cannot be used; the message says where and why."""


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-cased, rewritten, split and de-pluralised words."""
    lowered = text.lower()
    for pattern, replacement in _REWRITES:
        lowered = pattern.sub(replacement, lowered)
    return [_stem(w) for w in _WORD.findall(lowered)]


@dataclass(frozen=True)
class Topic:
    slug: str
    label: str
    group: str
    synonyms: tuple[str, ...]
    about: tuple[str, ...] = ()  # short sentences saying what the topic covers, for its meaning
    signals: tuple[tuple[str, float], ...] = ()  # (word or phrase, weight) as written in the taxonomy


@dataclass(frozen=True)
class TopicMatch:
    slug: str
    score: float  # the probability the model gives, 0–1
    evidence: tuple[str, ...]  # the words and phrases that triggered it, strongest first
    words: dict[str, float] = field(default_factory=dict)  # word or phrase -> points it gave
    meaning: float = 0.0  # how close the item's meaning came to the topic's (cosine)
    closest: str = ""  # the topic's sentence the item came closest to
    colleagues: float = 0.0  # what colleagues' corrections added (+) or took away (−), in log-odds

    def explain(self) -> str:
        """One line on why: the words and their points, the meaning, colleagues' corrections."""
        return explain(self.score, self.words, self.meaning, self.closest, self.colleagues)


@dataclass(frozen=True)
class Correction:
    """A person's /shelf tag (added) or untag (removed) of a topic on an item, in one workspace."""

    text: str  # the corrected item's title and description
    topic: str
    added: bool
    by: str


@dataclass(frozen=True)
class Colleagues:
    """What a workspace's people taught the tagger: items like the ones they corrected move.

    A correction moves a topic for items whose meaning is close to the corrected item's: by
    STEP log-odds at cosine SURE or more, less down to nothing at NEAR. Bounded: only each
    person's latest PER_PERSON corrections count, one person moves a topic by at most PERSON_CAP,
    everyone together by at most TOTAL_CAP.
    """

    vectors: np.ndarray  # one row per correction
    corrections: tuple[Correction, ...]

    PER_PERSON = 50
    NEAR = 0.5
    SURE = 0.8
    STEP = 2.0
    PERSON_CAP = 2.0
    TOTAL_CAP = 5.0

    @classmethod
    def learn(cls, corrections: Sequence[Correction], taxonomy: Taxonomy) -> Colleagues:
        """`corrections` newest first; each person's latest PER_PERSON are kept."""
        kept: list[Correction] = []
        per_person: dict[str, int] = defaultdict(int)
        for correction in corrections:
            if per_person[correction.by] < cls.PER_PERSON:
                per_person[correction.by] += 1
                kept.append(correction)
        vectors = taxonomy._meaning.embedding.embed_all([c.text for c in kept])
        return cls(vectors, tuple(kept))

    def shift(self, vector: np.ndarray, slugs: Sequence[str]) -> np.ndarray:
        """Log-odds to add to each topic in `slugs` for an item with this meaning."""
        shift = np.zeros(len(slugs))
        if not self.corrections or not vector.any():
            return shift
        closeness = self.vectors @ vector
        index = {slug: i for i, slug in enumerate(slugs)}
        by_person: dict[tuple[str, int], float] = defaultdict(float)
        for correction, near in zip(self.corrections, closeness, strict=True):
            if near < self.NEAR or correction.topic not in index:
                continue
            step = self.STEP * min(1.0, (near - self.NEAR) / (self.SURE - self.NEAR))
            by_person[(correction.by, index[correction.topic])] += step if correction.added else -step
        for (_, topic), total in by_person.items():
            shift[topic] += max(-self.PERSON_CAP, min(self.PERSON_CAP, total))
        return np.clip(shift, -self.TOTAL_CAP, self.TOTAL_CAP)


NOBODY = Colleagues(np.zeros((0, 1)), ())


@dataclass(frozen=True)
class TopicModel:
    """The learned calibration: weights over FEATURES, the threshold for giving a topic, and the
    off-work anchor sentences. Written by scripts/build_topic_model.py."""

    weights: np.ndarray
    intercept: float
    threshold: float
    relative: float  # a second or third topic needs this share of the best one's probability
    anchors: tuple[str, ...]

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> TopicModel:
        document = json.loads(path.read_text(encoding="utf-8"))
        if tuple(document["features"]) != FEATURES:
            raise ValueError(f"{path} was built for other features; rebuild it with scripts/build_topic_model.py")
        return cls(
            np.array(document["weights"], dtype=np.float64),
            float(document["intercept"]),
            float(document["threshold"]),
            float(document["relative"]),
            tuple(document["anchors"]),
        )


# What the model sees for each (item, topic) pair; the order of the weights in topic_model.json.
FEATURES = (
    "words",  # log(1 + lexicon points)
    "words_share",  # points / the best topic's points
    "words_decisive",  # points ≥ DECISIVE
    "elsewhere",  # log(1 + the strongest off-work group's points)
    "no_words",  # no topic has any lexicon points
    "meaning",  # cosine to the topic's vector
    "meaning_gap",  # … minus the best topic's
    "meaning_z",  # … standardised over the topics
    "meaning_first",  # the topic is the closest
    "meaning_top3",  # the topic is among the three closest
    "offwork_gap",  # closeness to the nearest off-work anchor minus the best topic's
    "offwork",  # closeness to the nearest off-work anchor
    "sentence",  # cosine to the topic's closest label or `about` sentence
    "sentence_gap",  # … minus the best topic's
)


@lru_cache(maxsize=1)
def shipped_model() -> TopicModel:
    return TopicModel.load()


def chosen(probability: np.ndarray, threshold: float, relative: float) -> list[int]:
    """The topics given, strongest first: at most MAX_TOPICS, each at `threshold` or more and at
    `relative` of the best one's probability or more."""
    best = float(probability.max()) if len(probability) else 0.0
    order = np.argsort(-probability, kind="stable")[:MAX_TOPICS]
    return [int(i) for i in order if probability[i] >= threshold and probability[i] >= relative * best]


def off_work(points: dict[str, float]) -> bool:
    """Whether an item's words say it is off work (a piano course, a match report, a recipe) at
    least as loudly as they name any topic: then it gets none, whatever its other words are."""
    elsewhere = max((v for k, v in points.items() if k.startswith("elsewhere:")), default=0.0)
    best = max((v for k, v in points.items() if not k.startswith("elsewhere:")), default=0.0)
    return elsewhere > 0 and elsewhere >= best


def explain(probability: float, words: dict[str, float], meaning: float, like: str, colleagues: float) -> str:
    """Why a topic was given, in one line: for a tag's evidence and for `peershelf inspect`."""
    parts = [f"{probability:.0%}: "]
    if words:
        parts.append("words " + ", ".join(f"{word} {points:g}" for word, points in words.items()) + "; ")
    parts.append(f"meaning {meaning:.2f} (like “{like}”)")
    if colleagues:
        parts.append(f"; colleagues' corrections {colleagues:+.1f}")
    return "".join(parts)


@dataclass(frozen=True)
class Reading:
    """What the tagger made of one item: features per topic and what explains them."""

    features: np.ndarray  # topics × FEATURES
    vector: np.ndarray
    points: dict[str, float]
    evidence: dict[str, dict[str, float]]
    sentences: np.ndarray  # closeness to every topic sentence (label and `about`)
    set_aside: dict[str, tuple[str, ...]] = field(default_factory=dict)  # framing words not counted, by topic


Lexicon = dict[tuple[str, ...], list[tuple[str, float]]]


@dataclass(frozen=True)
class Taxonomy:
    topics: dict[str, Topic]
    lexicon: Lexicon  # phrase (as words) -> [(topic slug or "elsewhere:<group>", weight)]
    domains: dict[str, list[tuple[str, float]]]
    aliases: dict[str, str]  # slug, label or synonym (normalised) -> slug
    longest: int
    elsewhere: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # off-work group -> signals
    framing: frozenset[tuple[str, str]] = frozenset()  # (topic slug, phrase as shown): see `_points`

    def resolve(self, tag: str) -> str | None:
        """The topic a #hashtag or an interest names (through synonyms), or None for a free tag."""
        return self.aliases.get(_alias_key(tag))

    def suggest(self, word: str) -> list[str]:
        """Near misses for a word that names no topic ("did you mean")."""
        close = difflib.get_close_matches(_alias_key(word), list(self.aliases), n=5, cutoff=0.7)
        return list(dict.fromkeys(self.aliases[c] for c in close))[:3]

    def label(self, slug: str) -> str:
        topic = self.topics.get(slug)
        return topic.label if topic else slug

    def tag(
        self,
        *,
        title: str | None = None,
        description: str | None = None,
        keywords: list[str] | None = None,
        site: str | None = None,
        url: str | None = None,
        colleagues: Colleagues = NOBODY,
    ) -> list[TopicMatch]:
        """Up to three topics, strongest first, each with what gave it."""
        reading = self.read(title=title, description=description, keywords=keywords, site=site, url=url)
        return self.decide(reading, colleagues)

    def read(
        self,
        *,
        title: str | None = None,
        description: str | None = None,
        keywords: list[str] | None = None,
        site: str | None = None,
        url: str | None = None,
    ) -> Reading:
        """The words and the meaning of an item, as features for each topic (in FEATURES order)."""
        points, evidence, set_aside = self._points(
            title=title, description=description, keywords=keywords, site=site, url=url
        )
        meaning = self._meaning
        text = ". ".join(part for part in (title, description, "; ".join(keywords or [])) if part)
        if not text and url:  # before the page is read, its address is all there is
            text = " ".join(words(_url_words(url)))
        vector = meaning.embedding.embed(text)
        lexicon = np.array([points.get(slug, 0.0) for slug in meaning.slugs])
        best_points = float(lexicon.max()) if len(lexicon) else 0.0
        elsewhere = max((v for k, v in points.items() if k.startswith("elsewhere:")), default=0.0)
        close = meaning.topics @ vector
        best = float(close.max())
        order = np.argsort(-close, kind="stable")
        rank = np.empty(len(close), dtype=np.int64)
        rank[order] = np.arange(len(close))
        offwork = float((meaning.anchors @ vector).max()) if len(meaning.anchors) else 0.0
        by_sentence = meaning.sentences @ vector
        sentence = np.maximum.reduceat(by_sentence, meaning.starts)
        n = len(close)
        features = np.column_stack(
            [
                np.log1p(lexicon),
                lexicon / best_points if best_points > 0 else np.zeros(n),
                (lexicon >= DECISIVE).astype(float),
                np.full(n, math.log1p(elsewhere)),
                np.full(n, float(best_points == 0)),
                close,
                close - best,
                (close - close.mean()) / (close.std() + 1e-6),
                (rank == 0).astype(float),
                (rank < 3).astype(float),
                np.full(n, offwork - best),
                np.full(n, offwork),
                sentence,
                sentence - sentence.max(),
            ]
        )
        return Reading(features, vector, dict(points), evidence, by_sentence, set_aside)

    def probabilities(self, reading: Reading, colleagues: Colleagues = NOBODY) -> np.ndarray:
        """The model's probability for each topic (in `topics` order)."""
        return self._probabilities(reading, colleagues.shift(reading.vector, self._meaning.slugs))

    def _probabilities(self, reading: Reading, shift: np.ndarray) -> np.ndarray:
        model = self._meaning.model
        return 1.0 / (1.0 + np.exp(-(reading.features @ model.weights + model.intercept + shift)))

    def decide(self, reading: Reading, colleagues: Colleagues = NOBODY) -> list[TopicMatch]:
        if off_work(reading.points):
            return []
        meaning = self._meaning
        shift = colleagues.shift(reading.vector, meaning.slugs)
        probability = self._probabilities(reading, shift)
        matches = []
        for i in chosen(probability, meaning.model.threshold, meaning.model.relative):
            slug = meaning.slugs[i]
            words = dict(sorted(reading.evidence.get(slug, {}).items(), key=lambda pair: -pair[1]))
            matches.append(
                TopicMatch(
                    slug,
                    round(float(probability[i]), 3),
                    tuple(words),
                    words={word: round(points, 2) for word, points in words.items()},
                    meaning=round(float(reading.features[i, FEATURES.index("meaning")]), 3),
                    closest=meaning.closest(reading.sentences, i),
                    colleagues=round(float(shift[i]), 2),
                )
            )
        return matches

    def refusals(self, reading: Reading, colleagues: Colleagues = NOBODY) -> dict[str, str]:
        """Why each topic the item's words point at was not given, in a line each (for inspect)."""
        meaning = self._meaning
        probability = self._probabilities(reading, colleagues.shift(reading.vector, meaning.slugs))
        off = off_work(reading.points)
        given = set() if off else set(chosen(probability, meaning.model.threshold, meaning.model.relative))
        best = float(probability.max()) if len(probability) else 0.0
        group, elsewhere = max(
            ((k.removeprefix("elsewhere:"), v) for k, v in reading.points.items() if k.startswith("elsewhere:")),
            key=lambda pair: pair[1],
            default=("", 0.0),
        )
        reasons: dict[str, str] = {}
        for i, slug in enumerate(meaning.slugs):
            if i in given or not (reading.points.get(slug) or slug in reading.set_aside):
                continue
            if off:
                found = reading.evidence.get(f"elsewhere:{group}", {})
                shown = ", ".join(sorted(found, key=lambda word: -found[word]))
                reasons[slug] = (
                    f"off work: {group} words ({shown}) weigh {elsewhere:g}, at least as much as any topic's"
                )
            elif slug not in reading.points:
                shown = ", ".join(f"“{word}”" for word in reading.set_aside[slug])
                reasons[slug] = f"{shown}: how the item teaches, not what it is about (another topic has words)"
            elif probability[i] < meaning.model.threshold:
                reasons[slug] = f"{probability[i]:.0%}, under the {meaning.model.threshold:.0%} a topic needs"
            else:
                reasons[slug] = (
                    f"{probability[i]:.0%}, under {meaning.model.relative:.0%} of the best topic's {best:.0%}"
                )
        return reasons

    @cached_property
    def _meaning(self) -> _Meaning:
        return _Meaning.build(self, shipped(), shipped_model(), cache=VECTORS_FILE)

    def _points(
        self,
        *,
        title: str | None,
        description: str | None,
        keywords: list[str] | None,
        site: str | None,
        url: str | None,
    ) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, tuple[str, ...]]]:
        """Lexicon points per topic (and per off-work group), the words that gave them, and the
        framing words set aside (see `_drop_framing`)."""
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, dict[str, float]] = defaultdict(dict)
        fields = {
            "title": title or "",
            "description": description or "",
            "keywords": " ; ".join(keywords or []),
            "site": site or "",
            "url": _url_words(url) if url else "",
        }
        for name, text in fields.items():
            if not text:
                continue
            factor = FIELD_WEIGHTS[name]
            for phrase in self._phrases(words(text)):
                for slug, weight in self.lexicon[phrase]:
                    points = weight * factor
                    shown = " ".join(phrase)
                    if points > evidence[slug].get(shown, 0.0):
                        scores[slug] += points - evidence[slug].get(shown, 0.0)
                        evidence[slug][shown] = points
        if url:
            host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
            for domain, hints in self.domains.items():
                if host == domain or host.endswith("." + domain):
                    for slug, weight in hints:
                        scores[slug] += weight
                        evidence[slug][domain] = weight
        set_aside = self._drop_framing(scores, evidence) if self.framing else {}
        return scores, evidence, set_aside

    def _drop_framing(
        self, scores: dict[str, float], evidence: dict[str, dict[str, float]]
    ) -> dict[str, tuple[str, ...]]:
        """A framing word ("learn", "course", "tutorial") says how an item teaches, not what it is
        about: "Learning Python" is about Python. It counts for its topic only when no other topic
        has words of its own. Returns the words set aside, by topic."""
        set_aside: dict[str, tuple[str, ...]] = {}
        framed = [(slug, shown) for slug in evidence for shown in evidence[slug] if (slug, shown) in self.framing]
        for slug, shown in framed:
            if any(p > 0 for other, p in scores.items() if other != slug and not other.startswith("elsewhere:")):
                scores[slug] -= evidence[slug].pop(shown)
                set_aside[slug] = (*set_aside.get(slug, ()), shown)
                if scores[slug] <= 1e-9:
                    del scores[slug]
                    del evidence[slug]
        return set_aside

    def _phrases(self, tokens: list[str]) -> set[tuple[str, ...]]:
        """Distinct lexicon phrases in `tokens`, longest match first at each position."""
        found: set[tuple[str, ...]] = set()
        i = 0
        while i < len(tokens):
            for n in range(min(self.longest, len(tokens) - i), 0, -1):
                phrase = tuple(tokens[i : i + n])
                if phrase in self.lexicon:
                    found.add(phrase)
                    i += n
                    break
            else:
                i += 1
        return found


@dataclass(frozen=True)
class _Meaning:
    """A taxonomy's topics as vectors: one per topic (label, synonyms and signal words, weighted),
    its sentences (label and `about`), and the off-work anchors (the model's sentences and the
    taxonomy's `elsewhere` groups)."""

    embedding: StaticEmbedding
    model: TopicModel
    slugs: list[str]
    topics: np.ndarray
    sentences: np.ndarray
    sentence_text: list[str]
    starts: np.ndarray  # where each topic's sentences start (they are stored topic by topic)
    anchors: np.ndarray
    digest: str  # of the texts the vectors were made from

    def closest(self, closeness: np.ndarray, topic: int) -> str:
        end = self.starts[topic + 1] if topic + 1 < len(self.starts) else len(closeness)
        return self.sentence_text[int(self.starts[topic] + np.argmax(closeness[self.starts[topic] : end]))]

    @classmethod
    def build(
        cls, taxonomy: Taxonomy, embedding: StaticEmbedding, model: TopicModel, cache: Path | None = None
    ) -> _Meaning:
        """The vectors, read from `cache` when it was written for these very texts, else computed."""
        slugs = list(taxonomy.topics)
        weighted_topics, texts, owners = [], [], []
        for i, slug in enumerate(slugs):
            topic = taxonomy.topics[slug]
            weighted = [(topic.label, 3.0), (f"This is about {topic.label}.", 3.0)]
            weighted += [(synonym, 1.0) for synonym in topic.synonyms]
            weighted += list(topic.signals)
            weighted_topics.append(weighted)
            for sentence in (topic.label, *topic.about):
                texts.append(sentence)
                owners.append(i)
        groups = [[(s, 1.0)] for s in model.anchors] + [list(signals) for signals in taxonomy.elsewhere.values()]
        digest = hashlib.sha256(repr((weighted_topics, texts, groups)).encode()).hexdigest()
        arrays = _cached(cache, digest)
        if arrays is None:
            arrays = {
                "topics": np.stack([_mean(embedding, weighted) for weighted in weighted_topics]),
                "sentences": embedding.embed_all(texts),
                "anchors": np.stack([_mean(embedding, group) for group in groups])
                if groups
                else np.zeros((0, embedding.dimensions)),
            }
        owner = np.array(owners, dtype=np.int64)
        return cls(
            embedding,
            model,
            slugs,
            arrays["topics"],
            arrays["sentences"],
            texts,
            np.searchsorted(owner, np.arange(len(slugs))),
            arrays["anchors"],
            digest,
        )

    def save(self, path: Path) -> None:
        """Keep these vectors for the next start (the build does this for the built-in taxonomy)."""
        arrays = {
            "digest": np.array(self.digest),
            "topics": self.topics.astype(np.float32),
            "sentences": self.sentences.astype(np.float32),
            "anchors": self.anchors.astype(np.float32),
        }
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:  # as np.savez, but byte-for-byte repeatable
            for name, array in arrays.items():
                member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                member.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(member, "w") as file:
                    np.lib.format.write_array(file, array, allow_pickle=False)


def _cached(path: Path | None, digest: str) -> dict[str, np.ndarray] | None:
    if path is None or not path.exists():
        return None
    with np.load(path) as stored:
        if str(stored["digest"]) != digest:
            return None
        return {key: stored[key] for key in ("topics", "sentences", "anchors")}


def _mean(embedding: StaticEmbedding, weighted: Sequence[tuple[str, float]]) -> np.ndarray:
    vectors = embedding.embed_all([text for text, _ in weighted])
    total = (vectors * np.array([weight for _, weight in weighted])[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else total


def _alias_key(word: str) -> str:
    return "-".join(words(word.lstrip("#")))


def _url_words(url: str) -> str:
    parts = urlsplit(url)
    return " ".join([parts.path, parts.query]).replace("/", " ")


def _phrase(text: Any, where: str) -> tuple[str, ...]:
    if not isinstance(text, str | int | float):
        raise TaxonomyError(f"{where}: a signal must be a word or phrase, not {text!r}")
    phrase = tuple(words(str(text)))
    if not phrase:
        raise TaxonomyError(f"{where}: the signal {text!r} has no words")
    return phrase


def _weight(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TaxonomyError(f"{where}: the weight must be a positive number, not {value!r}")
    return float(value)


def _mapping(value: Any, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TaxonomyError(f"{where} must be a mapping")
    return value


def parse_taxonomy(document: Any, source: str = "taxonomy") -> Taxonomy:
    """Build a taxonomy from a loaded YAML document, refusing anything malformed with a clear reason."""
    root = _mapping(document, source)
    raw_topics = _mapping(root.get("topics"), f"{source}: topics")
    if not raw_topics:
        raise TaxonomyError(f"{source}: no topics defined")
    topics: dict[str, Topic] = {}
    lexicon: Lexicon = defaultdict(list)
    domains: dict[str, list[tuple[str, float]]] = defaultdict(list)
    aliases: dict[str, str] = {}
    framed: set[tuple[str, str]] = set()
    for slug, spec in raw_topics.items():
        where = f"{source}: topic {slug!r}"
        if not isinstance(slug, str) or not _SLUG.match(slug):
            raise TaxonomyError(f"{where}: a slug is lower-case letters, digits and dashes")
        body = _mapping(spec, where)
        synonyms = body.get("synonyms") or []
        if not isinstance(synonyms, list):
            raise TaxonomyError(f"{where}: synonyms must be a list")
        about = body.get("about") or []
        if not isinstance(about, list) or not all(isinstance(a, str) and a.strip() for a in about):
            raise TaxonomyError(f"{where}: about must be a list of sentences")
        label = str(body.get("label") or slug.replace("-", " ").capitalize())
        signals = []
        for signal, weight in _mapping(body.get("signals"), f"{where}: signals").items():
            points = _weight(weight, f"{where}: signal {signal!r}")
            lexicon[_phrase(signal, where)].append((slug, points))
            signals.append((str(signal), points))
        framing = body.get("framing") or []
        if not isinstance(framing, list):
            raise TaxonomyError(f"{where}: framing must be a list of its signals")
        for word in framing:
            if str(word) not in {signal for signal, _ in signals}:
                raise TaxonomyError(f"{where}: framing word {word!r} is not one of its signals")
            framed.add((slug, " ".join(_phrase(word, where))))
        topics[slug] = Topic(
            slug, label, str(body.get("group") or ""), tuple(str(s) for s in synonyms), tuple(about), tuple(signals)
        )
        for domain, weight in _mapping(body.get("domains"), f"{where}: domains").items():
            domains[str(domain).lower().removeprefix("www.")].append((slug, _weight(weight, f"{where}: {domain}")))
    for slug, topic in topics.items():  # synonyms never shadow another topic's own slug or label
        for alias in (*topic.synonyms, topic.label):
            aliases.setdefault(_alias_key(alias), slug)
    for slug in topics:
        aliases[_alias_key(slug)] = slug
    elsewhere: dict[str, list[tuple[str, float]]] = {}
    for group, signals in _mapping(root.get("elsewhere"), f"{source}: elsewhere").items():
        for signal, weight in _mapping(signals, f"{source}: elsewhere {group!r}").items():
            where = f"{source}: elsewhere {group!r}"
            points = _weight(weight, f"{where} {signal!r}")
            lexicon[_phrase(signal, where)].append((f"elsewhere:{group}", points))
            elsewhere.setdefault(str(group), []).append((str(signal), points))
    longest = max((len(p) for p in lexicon), default=1)
    return Taxonomy(topics, dict(lexicon), dict(domains), aliases, longest, elsewhere, frozenset(framed))


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Taxonomy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise TaxonomyError(f"not valid YAML{line}") from None
    return parse_taxonomy(document, Path(path).name)


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy in `path` (SHELF_TOPICS_FILE), else the built-in one; cached until the file changes."""
    chosen = path or BUILT_IN
    try:
        mtime = chosen.stat().st_mtime
    except OSError as error:
        raise TaxonomyError(f"cannot read {chosen}: {error.strerror or error}") from None
    return _load(str(chosen), mtime)


def normalise_tag(taxonomy: Taxonomy, tag: str) -> str:
    """A #hashtag as stored: its topic's slug through synonyms (#k8s → devops), else a free tag."""
    return taxonomy.resolve(tag) or "-".join(_WORD.findall(tag.lower()))[:64]


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
