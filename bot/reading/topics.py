"""Topics: the taxonomy (built in, or SHELF_TOPICS_FILE) and the tagger that applies it.

The tagger is deliberately simple and explainable: weighted words and phrases found in an item's
title (counted double), description, keywords, site and URL, matched longest-first so "machine
learning" does not also count as "learning". Content about sport, food, celebrities, politics
and the like competes through the taxonomy's `elsewhere` groups; when it wins, nothing is
tagged, because a wrong tag costs more than a missing one.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

BUILT_IN = Path(__file__).with_name("taxonomy.yml")
MAX_TOPICS = 3
THRESHOLD = 3.0  # a decisive word anywhere, a strong one in the title, or several weaker ones
RELATIVE = 0.34  # a second or third topic needs a third of the best one's score
ELSEWHERE = 0.5  # no topic when off-work signals reach half the best topic's score
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


@dataclass(frozen=True)
class TopicMatch:
    slug: str
    score: float
    evidence: tuple[str, ...]  # the words and phrases that triggered it, strongest first


Lexicon = dict[tuple[str, ...], list[tuple[str, float]]]


@dataclass(frozen=True)
class Taxonomy:
    topics: dict[str, Topic]
    lexicon: Lexicon  # phrase (as words) -> [(topic slug or "elsewhere:<group>", weight)]
    domains: dict[str, list[tuple[str, float]]]
    aliases: dict[str, str]  # slug, label or synonym (normalised) -> slug
    longest: int

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
    ) -> list[TopicMatch]:
        """Up to three topics, strongest first, each with the words that triggered it."""
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, dict[str, float]] = defaultdict(dict)
        fields = {
            "title": title or "",
            "description": description or "",
            "keywords": " ; ".join(keywords or []),
            "site": site or "",
            "url": _url_words(url) if url else "",
        }
        for field, text in fields.items():
            if not text:
                continue
            factor = FIELD_WEIGHTS[field]
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
        topics = {slug: score for slug, score in scores.items() if not slug.startswith("elsewhere:")}
        if not topics:
            return []
        best = max(topics.values())
        elsewhere = max((s for slug, s in scores.items() if slug.startswith("elsewhere:")), default=0.0)
        if elsewhere >= ELSEWHERE * best:
            return []
        ranked = sorted(topics.items(), key=lambda pair: (-pair[1], pair[0]))
        return [
            TopicMatch(slug, round(score, 2), tuple(sorted(evidence[slug], key=lambda w: -evidence[slug][w])))
            for slug, score in ranked[:MAX_TOPICS]
            if score >= THRESHOLD and score >= RELATIVE * best
        ]

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
    for slug, spec in raw_topics.items():
        where = f"{source}: topic {slug!r}"
        if not isinstance(slug, str) or not _SLUG.match(slug):
            raise TaxonomyError(f"{where}: a slug is lower-case letters, digits and dashes")
        body = _mapping(spec, where)
        synonyms = body.get("synonyms") or []
        if not isinstance(synonyms, list):
            raise TaxonomyError(f"{where}: synonyms must be a list")
        label = str(body.get("label") or slug.replace("-", " ").capitalize())
        topics[slug] = Topic(slug, label, str(body.get("group") or ""), tuple(str(s) for s in synonyms))
        for signal, weight in _mapping(body.get("signals"), f"{where}: signals").items():
            lexicon[_phrase(signal, where)].append((slug, _weight(weight, f"{where}: signal {signal!r}")))
        for domain, weight in _mapping(body.get("domains"), f"{where}: domains").items():
            domains[str(domain).lower().removeprefix("www.")].append((slug, _weight(weight, f"{where}: {domain}")))
    for slug, topic in topics.items():  # synonyms never shadow another topic's own slug or label
        for alias in (*topic.synonyms, topic.label):
            aliases.setdefault(_alias_key(alias), slug)
    for slug in topics:
        aliases[_alias_key(slug)] = slug
    for group, signals in _mapping(root.get("elsewhere"), f"{source}: elsewhere").items():
        for signal, weight in _mapping(signals, f"{source}: elsewhere {group!r}").items():
            where = f"{source}: elsewhere {group!r}"
            lexicon[_phrase(signal, where)].append((f"elsewhere:{group}", _weight(weight, f"{where} {signal!r}")))
    return Taxonomy(topics, dict(lexicon), dict(domains), aliases, max(len(p) for p in lexicon))


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Taxonomy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = yaml.safe_load(text)
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
