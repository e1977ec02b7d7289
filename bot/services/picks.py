"""Picked for you: the week's items from colleagues that each person is likeliest to save.

Nobody has to type a setting. For each person and each item that reached the open in their digest
week, a handful of signals are read from what the workspace already holds (storage.picks):

- **content**: how close the item's words (title, description, site, topics, kind) come to what
  the person shared, saved, marked done, recommended and was sent (TF-IDF, cosine);
- **colleagues**: item-to-item collaborative filtering over who shared and saved what in the open
  (people who saved what you saved also saved this);
- **popular**: how many colleagues saved it in the open; **channel**: how much of what the person
  took came from the channel it was shared in, and whether they are a member there; **sharer**:
  how many of this sharer's finds they took before; **topic**: how much of what they took shares
  its topics; their **interests**, **follows** and **subscriptions**; **freshness**; and how
  close it comes to what they waved off with *Not for me* (**dismissed**).

The weights are fitted per workspace on its own earlier weeks (`fit`): for each of the last few
weeks, the signals are computed from what was there before it, and a logistic regression learns
which of the week's items each person went on to save. Until a workspace has enough history, the
weights are sensible defaults. Signals are put on one scale (standardised over the pass's
person-item pairs) before weighing, so weights fitted on earlier weeks carry over.

Privacy: only items in the open are candidates; colleagues' signals come only from what was done
in the open; a person's private activity enters only their own rows. A reason may name the public
sharer or channel, never who saved anything: saves appear only as counts of two or more.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import numpy as np
from scipy import linalg, sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sqlmodel import Session

from bot.services import Services
from bot.services.lookups import workspaces
from bot.slack import blocks
from storage import channels as channel_store
from storage import picks as store
from storage.picks import Appearance, Open, Own

logger = logging.getLogger(__name__)

PICKS = 5
WEEK = timedelta(days=7)
HISTORY = timedelta(days=182)  # what a person did in the last half year shapes their picks
THIN = 10  # fewer candidates than this in someone's week: older items (up to four weeks) join in
THIN_LOOKBACK = timedelta(days=28)
POOL = 2000  # candidates per pass at most: a workspace sharing more a week keeps its most saved
FIT_WEEKS = 4  # weeks a fit learns from
MIN_POSITIVES = 20  # saves among those weeks' items below which the defaults stand
NEGATIVES_PER_PERSON = 60
REFIT_AFTER = timedelta(days=7)
EASE_ITEMS = 3500  # items the collaborative signal reads at most (a 3,500² solve: about a second)
EASE_LAMBDA = 100.0
SEEN_SHARE = 0.5  # in a fit, the share of a week's saves taken as already made (the rest are the answers)
SUB_BATCH = 250  # people scored together: feature matrices stay a few tens of MB

FEATURES = (
    "content",
    "colleagues",
    "popular",
    "channel",
    "member",
    "sharer",
    "topic",
    "interest",
    "follow",
    "listed",
    "fresh",
    "dismissed",
)
DEFAULTS = {
    "content": 1.0,
    "colleagues": 1.0,
    "popular": 0.5,
    "channel": 0.6,
    "member": 0.4,
    "sharer": 0.3,
    "topic": 0.4,
    "interest": 0.8,
    "follow": 0.6,
    "listed": 0.6,
    "fresh": 0.1,
    "dismissed": -3.0,  # a similarity of one half weighs like a strong signal against
}
PRIVATE_SIGNALS = ("interest", "follow", "listed", "dismissed")  # fed by a person's own settings and marks
LEARNED = tuple(name for name in FEATURES if name not in PRIVATE_SIGNALS)
ACT_WEIGHT = {"shared": 1.0, "saved": 1.0, "done": 1.2, "sent": 0.7, "received": 0.5, "listed": 1.0}


@dataclass
class Pick:
    item_id: int
    why: str
    score: float


@dataclass
class Weights:
    values: dict[str, float]
    fitted: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> Weights:
        if not raw:
            return cls(dict(DEFAULTS))
        try:
            stored = json.loads(raw)
            values = {name: float(stored.get(name, DEFAULTS[name])) for name in FEATURES}
        except (ValueError, TypeError, AttributeError):
            return cls(dict(DEFAULTS))
        return cls(values, fitted=bool(stored))

    def vector(self) -> np.ndarray:
        return np.array([self.values[name] for name in FEATURES], dtype=np.float64)


def _text_of(text: store.Text | None, topics: Iterable[str]) -> str:
    """An item's words for TF-IDF: its title, description, site and kind, and its keywords and
    topics each also as one token (`kw_machine_learning`): a tag says more whole than in pieces."""
    whole = [f"topic_{_token(topic)}" for topic in sorted(topics)]
    if text is None:
        return " ".join(whole)
    keywords = [k.strip() for k in (text.keywords or "").split(",") if k.strip()]
    whole += [f"kw_{_token(keyword)}" for keyword in keywords]
    parts = [text.title or "", (text.description or "")[:600], text.site_name or "", f"kind_{text.kind}"]
    if text.url and not text.title:  # a page not read (yet): its address's words say something
        parts.append(re.sub(r"[\W_]+", " ", urlsplit(text.url).path))
    return " ".join([*parts, *keywords, *whole])


def _tfidf(corpus: list[str], public: np.ndarray) -> sparse.csr_matrix:
    """TF-IDF rows (sublinear counts, smoothed IDF, unit length) of `corpus`, whose words and their
    weights come from the `public` rows alone: a word only private items hold weighs nothing."""
    try:
        counts = CountVectorizer(dtype=np.float32).fit_transform(corpus).tocsr()
    except ValueError:  # no words at all (every page unread yet)
        return sparse.csr_matrix((len(corpus), 1), dtype=np.float32)
    seen = counts[np.nonzero(public)[0]]
    document_frequency = np.bincount(seen.indices, minlength=counts.shape[1]).astype(np.float32)
    idf = np.where(document_frequency > 0, np.log((1 + seen.shape[0]) / (1 + document_frequency)) + 1, 0.0)
    counts.data = 1 + np.log(counts.data)
    weighted = (counts @ sparse.diags(idf.astype(np.float32))).tocsr()
    return normalize(weighted).astype(np.float32)


def _token(phrase: str) -> str:
    return re.sub(r"\W+", "_", phrase.lower()).strip("_")


class World:
    """One workspace's facts, indexed for scoring at any instant up to `now` (a pass, or a fit's
    earlier weeks): people, items, their words, and who did what when."""

    def __init__(
        self,
        open_: Open,
        own: Own,
        texts: dict[int, store.Text],
        topics: dict[int, set[str]],
        members: dict[str, set[str]],
        now: datetime,
    ) -> None:
        self.open, self.own, self.members, self.now = open_, own, members, now
        people = set(own.acts) | set(members) | {u for _, u, _, _ in open_.shares} | {u for _, u, _ in open_.saves}
        self.people = sorted(people)
        self.person = {u: n for n, u in enumerate(self.people)}
        items = set(texts) | set(open_.appearances)
        items |= {i for i, _, _, _ in open_.shares} | {i for i, _, _ in open_.saves}
        items |= {i for acts in own.acts.values() for i, _, _ in acts}
        self.items = sorted(items)
        self.index = {i: n for n, i in enumerate(self.items)}
        self.topics = topics
        # Titles are all a reason needs of the items' words once they are vectors (a pass holds many).
        self.titles = {item: text.title for item, text in texts.items() if text.title}
        corpus = [_text_of(texts.get(i), topics.get(i, ())) for i in self.items]
        # Words and their weights are learned from items in the open alone: a private item's words
        # may shape its own reader's profile, never how everyone else's items are weighed.
        public = set(open_.appearances) | {i for i, _, _ in open_.saves} | {i for i, _, _, _ in open_.shares}
        self.public = public
        self.vectors = _tfidf(corpus, np.array([item in public for item in self.items], dtype=bool))
        names = sorted({t for ts in topics.values() for t in ts})
        self.topic_index = {t: n for n, t in enumerate(names)}
        rows, cols = [], []
        for item, ts in topics.items():
            if item in self.index:
                for t in ts:
                    rows.append(self.index[item])
                    cols.append(self.topic_index[t])
        self.topic_matrix = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(self.items), max(1, len(names)))
        )
        self.channels = sorted({a.channel_id for a in open_.appearances.values() if a.channel_id})
        self.channel_index = {c: n for n, c in enumerate(self.channels)}
        self.channel_names: dict[str, str] = {}  # public channels' names, for reasons (Slack shows an id otherwise)
        self.sharers = sorted({a.sharer for a in open_.appearances.values() if a.sharer})
        self.sharer_index = {s: n for n, s in enumerate(self.sharers)}

    # -- matrices at an instant ------------------------------------------------------------------

    def _matrix(self, entries: Iterable[tuple[str, int, float]]) -> sparse.csr_matrix:
        rows, cols, values = [], [], []
        for user, item, value in entries:
            if user in self.person and item in self.index:
                rows.append(self.person[user])
                cols.append(self.index[item])
                values.append(value)
        shape = (len(self.people), len(self.items))
        matrix = sparse.csr_matrix((np.array(values, dtype=np.float32), (rows, cols)), shape=shape)
        matrix.sum_duplicates()
        return matrix

    def in_the_open_before(
        self, at: datetime, hidden: set[tuple[str, int]]
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Who shared or saved what in the open before `at` (binary), and the saves alone; the
        saves in `hidden` (a fit's answers) left out."""
        took = self._matrix((u, i, 1.0) for i, u, _, when in self.open.shares if when < at)
        saved = self._matrix((u, i, 1.0) for i, u, when in self.open.saves if when < at and (u, i) not in hidden)
        took = ((took + saved) > 0).astype(np.float32)
        return took, (saved > 0).astype(np.float32)

    def own_before(self, at: datetime, hidden: set[tuple[str, int]]) -> sparse.csr_matrix:
        """What each person did before `at`, weighted by how much it says about them; what they did
        with the items of `hidden` (a fit's answers) other than share them left out."""
        entries = []
        for user, acts in self.own.acts.items():
            for item, what, when in acts:
                if when >= at or (what != "shared" and (user, item) in hidden):
                    continue
                entries.append((user, item, ACT_WEIGHT[what]))
        matrix = self._matrix(entries)
        matrix.data = np.minimum(matrix.data, 2.0)
        return matrix

    def candidates(self, since: datetime, until: datetime) -> list[Appearance]:
        """Items that reached the open in [since, until); a very busy stretch keeps the newest
        week's first, most saved in the open first, then the newest."""
        found = [a for a in self.open.appearances.values() if since <= a.at < until and a.item_id in self.index]
        if len(found) <= POOL:
            return found
        saves: dict[int, int] = {}
        for item, _, when in self.open.saves:
            if when < until:
                saves[item] = saves.get(item, 0) + 1
        week = until - WEEK
        found.sort(key=lambda a: (a.at < week, -saves.get(a.item_id, 0), -a.at.timestamp(), a.item_id))
        return found[:POOL]


class Scorer:
    """The signals for people × candidates at instant `at`, in sub-batches of people."""

    def __init__(
        self, world: World, at: datetime, pool: list[Appearance], hidden: set[tuple[str, int]] | None = None
    ) -> None:
        self.world, self.at, self.pool = world, at, pool
        hidden = hidden or set()
        self.took, self.saved = world.in_the_open_before(at, hidden)
        self.own = world.own_before(at, hidden)
        self.own_binary = (self.own > 0).astype(np.float32)
        cols = np.array([world.index[a.item_id] for a in pool], dtype=np.int64)
        self.cols = cols
        self.pool_vectors = world.vectors[cols] if len(cols) else world.vectors[:0]
        self.pool_saves = np.asarray(self.saved.sum(axis=0)).ravel()[cols] if len(cols) else np.zeros(0)
        self.ease_items, self.ease = _ease(self.took, cols)
        # Which channel and sharer each candidate came from, and how each person's history spreads over them.
        n_channels, n_sharers = max(1, len(world.channels)), max(1, len(world.sharers))
        item_channel = np.full(len(world.items), -1, dtype=np.int64)
        item_sharer = np.full(len(world.items), -1, dtype=np.int64)
        for appearance in world.open.appearances.values():
            n = world.index.get(appearance.item_id)
            if n is None or appearance.at >= at:
                continue
            if appearance.channel_id:
                item_channel[n] = world.channel_index[appearance.channel_id]
            if appearance.sharer:
                item_sharer[n] = world.sharer_index[appearance.sharer]
        for appearance in pool:
            n = world.index[appearance.item_id]
            if appearance.channel_id:
                item_channel[n] = world.channel_index[appearance.channel_id]
            if appearance.sharer:
                item_sharer[n] = world.sharer_index[appearance.sharer]
        self.pool_channel, self.pool_sharer = item_channel[cols], item_sharer[cols]
        self.channel_of_item = _one_hot(item_channel, n_channels)
        self.sharer_of_item = _one_hot(item_sharer, n_sharers)
        self.pool_topics = world.topic_matrix[cols]
        self.pool_topic_count = np.maximum(np.asarray(self.pool_topics.sum(axis=1)).ravel(), 1.0)
        self.pool_age_days = np.array([(at - a.at).total_seconds() / 86400 for a in pool])
        listed_in: dict[int, list[int]] = {}
        for list_id, items in world.open.list_items.items():
            for item in items:
                listed_in.setdefault(item, []).append(list_id)
        self.pool_listed_in = [set(listed_in.get(a.item_id, ())) for a in pool]
        self.pool_items = np.array([a.item_id for a in pool], dtype=np.int64)
        self.list_index = {list_id: n for n, list_id in enumerate(sorted(world.open.list_items))}
        entries = [(j, self.list_index[i]) for j, lists in enumerate(self.pool_listed_in) for i in lists]
        self.pool_lists = sparse.csc_matrix(
            (np.ones(len(entries), dtype=np.float32), ([j for j, _ in entries], [n for _, n in entries])),
            shape=(len(pool), max(1, len(self.list_index))),
        )
        self._took_csc: sparse.csc_matrix | None = None
        self._saved_pool: sparse.csc_matrix | None = None

    def takers_of(self, items: np.ndarray) -> np.ndarray:
        """Who shared or saved any of `items` (world columns) in the open."""
        if self._took_csc is None:
            self._took_csc = self.took.tocsc()
        found = [_row(self._took_csc, int(item)) for item in items]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def savers(self, col: int) -> np.ndarray:
        """Who saved the candidate at pool column `col` in the open."""
        if self._saved_pool is None:
            self._saved_pool = self.saved[:, self.cols].tocsc()
        return _row(self._saved_pool, col)

    def features(self, users: list[int], *, open_only: bool = False) -> np.ndarray:
        """(people, candidates, features) for the people at rows `users` of the world. With
        `open_only`, only what they did in the open counts (for a fit's weights and a pass's scale,
        which every pick goes through: nobody's private activity may shape them)."""
        w = self.world
        n, c = len(users), len(self.pool)
        out = np.zeros((n, c, len(FEATURES)), dtype=np.float32)
        if not n or not c:
            return out
        own = self.took[users] if open_only else self.own[users]
        own_binary = self.took[users] if open_only else self.own_binary[users]
        # content: the person's profile (their items' words, weighted) against each candidate's words
        profile = own @ w.vectors
        norms = np.sqrt(np.asarray(profile.multiply(profile).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        profile = sparse.diags(1.0 / norms) @ profile
        out[:, :, 0] = (profile @ self.pool_vectors.T).toarray()
        # colleagues: EASE over who shared and saved what in the open
        out[:, :, 1] = (own_binary[:, self.ease_items] @ self.ease) if len(self.ease_items) else 0.0
        saved_here = self.saved[users][:, self.cols].toarray()
        out[:, :, 2] = np.log1p(np.maximum(self.pool_saves[None, :] - saved_here, 0.0))
        # channel: how much of what the person did came from the candidate's channel
        per_channel = np.asarray((own_binary @ self.channel_of_item).todense())
        channel_cols = np.where(self.pool_channel >= 0, self.pool_channel, 0)
        out[:, :, 3] = np.log1p(per_channel[:, channel_cols]) * (self.pool_channel >= 0)[None, :]
        for row, user_row in enumerate(users):
            mine = w.members.get(w.people[user_row], set())
            if mine:
                out[row, :, 4] = np.isin(self.pool_channel, [w.channel_index[c] for c in mine if c in w.channel_index])
        per_sharer = np.asarray((own_binary @ self.sharer_of_item).todense())
        sharer_cols = np.where(self.pool_sharer >= 0, self.pool_sharer, 0)
        out[:, :, 5] = np.log1p(per_sharer[:, sharer_cols]) * (self.pool_sharer >= 0)[None, :]
        # topic: the share of the person's items on the candidate's topics
        counts = np.maximum(np.asarray(own_binary.sum(axis=1)).ravel(), 1.0)
        topic_profile = sparse.diags(1.0 / counts) @ (own_binary @ w.topic_matrix)
        out[:, :, 6] = (topic_profile @ self.pool_topics.T).toarray() / self.pool_topic_count[None, :]
        out[:, :, 10] = -self.pool_age_days[None, :] / 7.0
        if open_only:
            return out
        for row, user_row in enumerate(users):  # their settings, and what they waved off
            user = w.people[user_row]
            interests = w.own.interests.get(user, set())
            if interests:
                wanted = [w.topic_index[t] for t in interests if t in w.topic_index]
                if wanted:
                    out[row, :, 7] = np.asarray(self.pool_topics[:, wanted].sum(axis=1)).ravel() > 0
            follows = w.own.follows.get(user, set())
            if follows:
                out[row, :, 8] = np.isin(self.pool_sharer, [w.sharer_index[f] for f in follows if f in w.sharer_index])
            subscribed = [self.list_index[i] for i in w.own.subscriptions.get(user, ()) if i in self.list_index]
            if subscribed:
                out[row, :, 9] = np.asarray(self.pool_lists[:, subscribed].sum(axis=1)).ravel() > 0
        dismissed_rows = [[w.index[i] for i in w.own.dismissed.get(w.people[u], ()) if i in w.index] for u in users]
        if any(dismissed_rows):
            rows = [r for r, cols in enumerate(dismissed_rows) for _ in cols]
            cols = [c for cols in dismissed_rows for c in cols]
            waved = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, len(w.items)))
            out[:, :, 11] = ((waved @ w.vectors) @ self.pool_vectors.T).toarray()
        return out

    def excluded(self, users: list[int], *, open_only: bool = False) -> np.ndarray:
        """(people, candidates): True where the person already has the item (shared, saved, done,
        sent, was sent), waved it off, or shared or saved it in the open (only the last with
        `open_only`)."""
        w = self.world
        mask = self.took[users][:, self.cols].toarray() > 0
        if not open_only:
            mask |= self.own_binary[users][:, self.cols].toarray() > 0
        for row, user_row in enumerate(users):
            user = w.people[user_row]
            waved = None if open_only else w.own.dismissed.get(user)
            if waved:
                mask[row] |= np.isin(self.pool_items, list(waved))
            mask[row] |= self.pool_sharer == w.sharer_index.get(user, -2)
        return mask


def _ease(took: sparse.csr_matrix, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EASE (Steck, 2019) on the open matrix, solved only for the candidates' columns: the items it
    reads (the candidates, and the most taken items with two or more people) and their weights
    towards each candidate, (items, candidates)."""
    degree = np.asarray(took.sum(axis=0)).ravel()
    others = np.setdiff1d(np.nonzero(degree >= 2)[0], pool)
    room = max(0, EASE_ITEMS - len(pool))
    if len(others) > room:
        others = others[np.argsort(-degree[others], kind="stable")[:room]]
    items = np.concatenate([pool, np.sort(others)]).astype(np.int64)
    if not len(pool) or not took.nnz:
        return items, np.zeros((len(items), len(pool)), dtype=np.float32)
    part = took[:, items]
    gram = (part.T @ part).toarray().astype(np.float32)
    gram[np.diag_indices_from(gram)] += EASE_LAMBDA
    factor = linalg.cho_factor(gram, overwrite_a=True, check_finite=False)
    unit = np.zeros((len(items), len(pool)), dtype=np.float32)
    unit[np.arange(len(pool)), np.arange(len(pool))] = 1.0
    inverse_cols = linalg.cho_solve(factor, unit, overwrite_b=True, check_finite=False)
    weights = -inverse_cols / np.diag(inverse_cols[: len(pool)])[None, :]
    weights[np.arange(len(pool)), np.arange(len(pool))] = 0.0
    return items, weights.astype(np.float32)


def _row(matrix: sparse.csr_matrix | sparse.csc_matrix, n: int) -> np.ndarray:
    """The indices stored in row `n` of a CSR matrix (column `n` of a CSC one), read in place."""
    return np.asarray(matrix.indices[matrix.indptr[n] : matrix.indptr[n + 1]])


def _one_hot(assigned: np.ndarray, width: int) -> sparse.csr_matrix:
    rows = np.nonzero(assigned >= 0)[0]
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, assigned[rows])), shape=(len(assigned), width)
    )


@dataclass
class Scale:
    """Each signal's mean and spread over a pass's person-item pairs: one scale to weigh them on."""

    mean: np.ndarray
    spread: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Scale:
        if not len(values):
            return cls(np.zeros(len(FEATURES)), np.ones(len(FEATURES)))
        spread = values.std(axis=0)
        spread[spread < 1e-9] = 1.0
        return cls(values.mean(axis=0), spread)

    def apply(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.spread


def _sample_rows(features: np.ndarray, allowed: np.ndarray, limit: int, rng: random.Random) -> np.ndarray:
    pairs = np.argwhere(allowed)
    if len(pairs) > limit:
        pairs = pairs[rng.sample(range(len(pairs)), limit)]
    return features[pairs[:, 0], pairs[:, 1]] if len(pairs) else np.zeros((0, len(FEATURES)), dtype=np.float32)


# -- loading, fitting, picking -------------------------------------------------------------------------


def load_world(session: Session, *, team_id: str, now: datetime) -> World:
    """Everything picking reads for one workspace, as of `now`: the last half year."""
    since = now - HISTORY
    open_, own = store.workspace_since(session, team_id=team_id, since=since)
    wanted = set(open_.appearances) | {i for i, _, _ in open_.saves} | {i for i, _, _, _ in open_.shares}
    wanted |= {i for acts in own.acts.values() for i, _, _ in acts}
    texts = store.texts(session, team_id=team_id, item_ids=wanted)
    topics = store.open_topics(session, team_id=team_id, item_ids=wanted)
    channels = sorted({a.channel_id for a in open_.appearances.values() if a.channel_id})
    members: dict[str, set[str]] = {}
    for channel, people in channel_store.members_of(session=session, team_id=team_id, channel_ids=channels).items():
        for person in people:
            members.setdefault(person, set()).add(channel)
    world = World(open_, own, texts, topics, members, now)
    world.channel_names = store.channel_names(session, team_id=team_id, channel_ids=channels)
    return world


@dataclass
class Fit:
    weights: Weights
    examples: int
    positives: int


def fit(world: World, *, weeks: int = FIT_WEEKS, seed: int = 7) -> Fit:
    """Weights learned from the workspace's own earlier weeks.

    At each cut (one, two, … weeks ago) the question a digest asks is put again: of the items that
    reached the open in the week before the cut, which did each person go on to save? Half of the
    week's saves (at random: a history import dates them all at their message) are taken as
    already made, as some are when a digest goes out; the rest, and any made after the cut, are
    the answers, left out of every signal. A logistic regression then learns, from each person's
    candidates set against one another, how much each signal says.

    It learns only from what was done in the open (public shares, saves made in the open), so that
    nobody's private activity shapes the weights everyone's picks go through. The signals only
    private facts feed (interests, follows, subscriptions, Not for me) keep their default weights,
    on the scale of the learned ones."""
    rng = random.Random(seed)
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    positives = 0
    took_by: dict[str, set[int]] = {}
    for item, user, _ in world.open.saves:
        took_by.setdefault(user, set()).add(item)
    for k in range(1, weeks + 1):
        cut = world.now - WEEK * k  # the newest week's saves are still coming in: it is never asked
        pool = world.candidates(cut - WEEK, cut)
        if len(pool) < 2:
            continue
        sharer_of = {a.item_id: a.sharer for a in pool}
        answers = {
            (user, item)
            for user, items in took_by.items()
            for item in items
            if item in sharer_of and sharer_of[item] != user
        }
        hidden = {pair for pair in sorted(answers) if rng.random() >= SEEN_SHARE}
        scorer = Scorer(world, cut, pool, hidden)
        people = sorted({world.person[user] for user, _ in answers if user in world.person})
        cut_rows, cut_labels = [], []
        for start in range(0, len(people), SUB_BATCH):
            users = people[start : start + SUB_BATCH]
            values = scorer.features(users, open_only=True)
            excluded = scorer.excluded(users, open_only=True)
            for row, user_row in enumerate(users):
                user = world.people[user_row]
                y = np.array([(user, a.item_id) in answers for a in pool]) & ~excluded[row]
                positive_cols = np.nonzero(y)[0]
                negative_cols = np.nonzero(~excluded[row] & ~y)[0]
                if not len(positive_cols) or not len(negative_cols):
                    continue
                if len(negative_cols) > NEGATIVES_PER_PERSON:
                    negative_cols = np.array(sorted(rng.sample(list(negative_cols), NEGATIVES_PER_PERSON)))
                cols = np.concatenate([positive_cols, negative_cols]).astype(np.int64)
                cut_rows.append(values[row, cols])
                cut_labels.append(np.concatenate([np.ones(len(positive_cols)), np.zeros(len(negative_cols))]))
        if not cut_rows:
            continue
        scale = Scale.of(np.vstack(cut_rows))
        # Each person's candidates against one another: what ranks, not who is keen.
        rows += [scale.apply(block) - scale.apply(block).mean(axis=0) for block in cut_rows]
        labels += cut_labels
        positives += int(sum(y.sum() for y in cut_labels))
    examples = sum(len(y) for y in labels)
    if positives < MIN_POSITIVES or not rows:
        return Fit(Weights(dict(DEFAULTS)), examples, positives)
    x, y = np.vstack(rows), np.concatenate(labels)
    model = LogisticRegression(C=0.5, max_iter=1000, fit_intercept=True)
    model.fit(x, y)
    learned = dict(zip(FEATURES, model.coef_[0].tolist(), strict=True))
    size = np.mean([abs(learned[name]) for name in LEARNED]) / np.mean([abs(DEFAULTS[name]) for name in LEARNED])
    weights = {name: round(float(learned[name] if name in LEARNED else DEFAULTS[name] * size), 4) for name in FEATURES}
    return Fit(Weights(weights, fitted=True), examples, positives)


class _Asked:
    """What the reasons of one person's picks read, each worked out once for all of them."""

    def __init__(self, scorer: Scorer, user_row: int, cols: list[int]) -> None:
        self.scorer, self.user_row, self.cols = scorer, user_row, cols
        self._neighbours: np.ndarray | None = None
        self._closeness: tuple[np.ndarray, np.ndarray] | None = None

    def neighbours(self) -> np.ndarray:
        """People who took, in the open, something this person took."""
        if self._neighbours is None:
            mine = _row(self.scorer.own_binary, self.user_row)
            self._neighbours = self.scorer.takers_of(mine) if len(mine) else np.zeros(0, dtype=np.int64)
        return self._neighbours

    def closest(self, col: int) -> tuple[int, float] | None:
        """The person's item in the open closest in words to the candidate at `col`, and how close.
        Named only after what is in the open: a digest may be shown around; a private title stays out."""
        if self._closeness is None:
            w = self.scorer.world
            mine = np.array([n for n in _row(self.scorer.own, self.user_row) if w.items[n] in w.public], dtype=np.int64)
            picked = self.scorer.pool_vectors[self.cols] if self.cols else self.scorer.pool_vectors[:0]
            closeness = (w.vectors[mine] @ picked.T).toarray() if len(mine) else np.zeros((0, len(self.cols)))
            self._closeness = (mine, closeness)
        mine, closeness = self._closeness
        if not len(mine) or col not in self.cols:
            return None
        column = closeness[:, self.cols.index(col)]
        best = int(np.argmax(column))
        return int(mine[best]), float(column[best])


class Picker:
    """Picks for the people of one workspace at one instant, reusing what a pass has read."""

    def __init__(self, world: World, weights: Weights) -> None:
        self.world, self.weights = world, weights
        self._scorer: Scorer | None = None
        self._scale: Scale | None = None

    def pick(
        self, windows: dict[str, tuple[datetime, datetime]], *, limit: int = PICKS, first: set[str] | None = None
    ) -> dict[str, list[Pick]]:
        """Up to `limit` picks for each person, from the items that reached the open in their window
        (since their last digest, until now). For someone whose first digest this is (`first`; None:
        everyone), a thin week is filled from the weeks before: later, those were their last picks."""
        w = self.world
        if not windows:
            return {}
        scorer = self.scorer()
        if not scorer.pool:
            return {}
        scale = self._scale_for(scorer)
        weights = self.weights.vector()
        appeared = np.array([a.at.timestamp() for a in scorer.pool])
        found: dict[str, list[Pick]] = {}
        people = [u for u in windows if u in w.person]
        for start in range(0, len(people), SUB_BATCH):
            chunk = people[start : start + SUB_BATCH]
            rows = [w.person[u] for u in chunk]
            values = scorer.features(rows)
            scaled = scale.apply(values)
            scores = scaled @ weights
            excluded = scorer.excluded(rows)
            for row, user in enumerate(chunk):
                begin, end = windows[user]
                open_to_them = ~excluded[row] & (appeared < end.timestamp())
                in_week = open_to_them & (appeared >= begin.timestamp())
                ranked = np.argsort(-scores[row], kind="stable")
                order = [j for j in ranked if in_week[j]][:limit]
                if in_week.sum() < THIN and (first is None or user in first):
                    older = open_to_them & ~in_week & (appeared >= (begin - THIN_LOOKBACK + WEEK).timestamp())
                    order += [j for j in ranked if older[j]][: limit - len(order)]
                asked = _Asked(scorer, rows[row], order)
                found[user] = [
                    Pick(scorer.pool[j].item_id, self._why(asked, j, scaled[row, j]), float(scores[row, j]))
                    for j in order
                ]
        return found

    def scorer(self) -> Scorer:
        """The candidates of the four weeks before the world's instant, read once for every batch."""
        if self._scorer is None:
            now = self.world.now
            self._scorer = Scorer(self.world, now, self.world.candidates(now - THIN_LOOKBACK, now))
        return self._scorer

    def _scale_for(self, scorer: Scorer) -> Scale:
        """One scale for the whole pass, from a sample of its people."""
        if self._scale is None:
            rng = random.Random(3)
            # People who did something in the open: who did something only in private changes nothing.
            people = [int(n) for n in np.nonzero(np.diff(scorer.took.indptr))[0]]
            sample = sorted(rng.sample(people, min(len(people), SUB_BATCH)))
            values = scorer.features(sample, open_only=True)
            allowed = ~scorer.excluded(sample, open_only=True)
            self._scale = Scale.of(_sample_rows(values, allowed, 200_000, rng))
        return self._scale

    def _why(self, asked: _Asked, col: int, scaled: np.ndarray) -> str:
        """The truest short reason: the signal that counted most for this pick, said plainly."""
        scorer, user_row = asked.scorer, asked.user_row
        user = self.world.people[user_row]
        appearance = scorer.pool[col]
        weights = self.weights.vector()
        # A signal counts as a reason only where it is there and it speaks for the item.
        contributions = np.where((weights > 0) & (scaled > 0), scaled * weights, 0.0)
        for f in np.argsort(-contributions):
            if contributions[f] <= 0:
                break
            reason = self._reason(FEATURES[int(f)], asked, user, col, appearance)
            if reason:
                return reason
        return self._shared_by(appearance)

    def _channel(self, channel_id: str) -> str:
        name = self.world.channel_names.get(channel_id)
        return f"<#{channel_id}|{name}>" if name else f"<#{channel_id}>"

    def _shared_by(self, appearance: Appearance) -> str:
        if appearance.sharer and appearance.channel_id:
            return f"shared by <@{appearance.sharer}> in {self._channel(appearance.channel_id)}"
        if appearance.list_id is not None:
            name = self.world.open.list_names.get(appearance.list_id)
            return f"new in _{blocks.slack_escape(name)}_" if name else "new on a list"
        return "new this week"

    def _reason(self, feature: str, asked: _Asked, user: str, col: int, appearance: Appearance) -> str | None:
        w, scorer = self.world, asked.scorer
        if feature == "colleagues":
            savers = scorer.savers(col)
            alike = int(np.isin(savers, asked.neighbours()).sum() - (asked.user_row in savers))
            if alike >= 2:
                return f"saved by {alike} colleagues who save what you save"
            return None
        if feature == "content":
            found = asked.closest(col)
            if found is None:
                return None
            best, closeness = found
            if closeness <= 0.05:
                return None
            item = w.items[best]
            title = w.titles.get(item)
            if not title:
                return None
            did = _what_you_did(w.own.acts.get(user, []), item)
            return f"close to _{blocks.slack_escape(title[:80])}_ {did}"
        if feature in ("popular",) and scorer.pool_saves[col] >= 2:
            return f"saved by {int(scorer.pool_saves[col])} colleagues"
        if feature in ("channel", "member") and appearance.channel_id:
            where = self._channel(appearance.channel_id)
            if scorer.pool_saves[col] >= 2:
                return f"popular in {where}, where you are"
            return f"shared in {where}, where you are"
        if feature == "sharer" and appearance.sharer:
            return f"shared by <@{appearance.sharer}>, whose finds you keep"
        if feature == "follow" and appearance.sharer:
            return f"shared by <@{appearance.sharer}>, whom you follow"
        if feature == "interest":
            topics = sorted(w.topics.get(appearance.item_id, set()) & w.own.interests.get(user, set()))
            if topics:
                return f"on {topics[0]}, one of your interests"
        if feature == "listed":
            lists = sorted(scorer.pool_listed_in[col] & w.own.subscriptions.get(user, set()))
            if lists:
                return f"in _{blocks.slack_escape(w.open.list_names.get(lists[0], 'a list'))}_, which you follow"
        if feature == "topic":
            topics = sorted(w.topics.get(appearance.item_id, set()))
            if topics:
                return f"on {topics[0]}, like much of what you keep"
        return None


def _what_you_did(acts: list[tuple[int, str, datetime]], item: int) -> str:
    said = {
        "shared": "you shared",
        "saved": "you saved",
        "done": "you read",
        "sent": "you recommended",
        "listed": "on your list",
    }
    for wanted in ("done", "saved", "shared", "listed", "sent"):
        if any(i == item and what == wanted for i, what, _ in acts):
            return said[wanted]
    return "you were sent"


def weights_for(session: Session, *, team_id: str) -> Weights:
    row = store.stored_model(session, team_id=team_id)
    return Weights.parse(row.weights if row is not None else None)


def refit(session: Session, *, team_id: str, now: datetime) -> Fit:
    """Fit the workspace's weights on its earlier weeks and keep them (scheduled weekly)."""
    fitted = fit(load_world(session, team_id=team_id, now=now))
    _keep(session, team_id=team_id, fitted=fitted, now=now)
    logger.info(
        "picks for team %s fitted on %s pairs (%s saved): %s",
        team_id,
        fitted.examples,
        fitted.positives,
        "learned" if fitted.weights.fitted else "defaults",
    )
    return fitted


def picker_for(session: Session, *, team_id: str, now: datetime, store_fit: bool = True) -> Picker:
    """The workspace's picker as of `now`, with its fitted weights; a workspace never fitted is fitted
    first (kept unless `store_fit` is False: a dry run changes nothing)."""
    world = load_world(session, team_id=team_id, now=now)
    row = store.stored_model(session, team_id=team_id)
    if row is not None:
        return Picker(world, Weights.parse(row.weights))
    fitted = fit(world)
    if store_fit:
        _keep(session, team_id=team_id, fitted=fitted, now=now)
    return Picker(world, fitted.weights)


def _keep(session: Session, *, team_id: str, fitted: Fit, now: datetime) -> None:
    """Store a fit (defaults as "{}", so a later change to them reaches the workspace)."""
    store.store_model(
        session,
        team_id=team_id,
        weights=json.dumps(fitted.weights.values if fitted.weights.fitted else {}),
        examples=fitted.examples,
        positives=fitted.positives,
        now=now,
    )
    session.commit()


def refit_due(services: Services) -> list[str]:
    """Refit every workspace whose weights are a week old (scheduled): the workspaces refitted."""
    done = []
    for team_id in workspaces(services):
        now = services.clock()
        with services.new_session() as session:
            if not store.claim_refit(session, team_id=team_id, now=now, every=REFIT_AFTER):
                continue
            try:
                refit(session, team_id=team_id, now=now)
            except Exception:  # due again at the next look, not in a week; the trace is kept
                session.rollback()
                store.refit_failed(session, team_id=team_id, now=now, every=REFIT_AFTER)
                logger.exception("refitting the picks of team %s failed", team_id)
                continue
        done.append(team_id)
    return done


# -- the Home tab -----------------------------------------------------------------------------------

HOME_FRESH = timedelta(minutes=15)  # a Home tab reuses the workspace's picker this long
_home_pickers: dict[tuple[int, str], tuple[datetime, Picker]] = {}


def cached_picker(session: Session, *, team_id: str, now: datetime) -> Picker:
    """The workspace's picker for one person's look (the Home tab, a digest preview): its facts are
    reread at most every quarter of an hour, however many people look."""
    key = (id(session.get_bind()), team_id)
    cached = _home_pickers.get(key)
    if cached is None or not (now - HOME_FRESH <= cached[0] <= now):
        cached = (now, Picker(load_world(session, team_id=team_id, now=now), weights_for(session, team_id=team_id)))
        _home_pickers[key] = cached
    return cached[1]


def forget_cached(team_id: str) -> None:
    """Someone waved an item off: this process's Home tabs and previews read the workspace again."""
    for key in [key for key in _home_pickers if key[1] == team_id]:
        _home_pickers.pop(key, None)


def fresh_for(session: Session, *, team_id: str, user_id: str, now: datetime, found: list[Pick]) -> list[Pick]:
    """`found`, read from a cached picker, as things are now: less what the person took or waved
    off since, and what is no longer in the open; a reason naming a share that is no longer public
    (made private, deleted, its sharer forgotten) says only that it is new."""
    mine = store.own_activity(session, team_id=team_id, users=[user_id], since=now - HISTORY)
    taken = {item for item, _, _ in mine.acts.get(user_id, [])} | mine.dismissed.get(user_id, set())
    ids = [pick.item_id for pick in found if pick.item_id not in taken]
    open_now = store.still_in_the_open(session, team_id=team_id, item_ids=ids)
    shares = store.public_shares(session, team_id=team_id, item_ids=open_now)
    fresh = []
    for pick in found:
        if pick.item_id not in open_now or pick.item_id in taken:
            continue
        sharer, channel = _NAMED_SHARER.search(pick.why), _NAMED_CHANNEL.search(pick.why)
        still = any(
            item == pick.item_id
            and (sharer is None or user == sharer.group(1))
            and (channel is None or where == channel.group(1))
            for item, user, where in shares
        )
        if (sharer or channel) and not still:
            pick = Pick(pick.item_id, "new lately", pick.score)
        fresh.append(pick)
    return fresh


_NAMED_SHARER = re.compile(r"<@(U[A-Z0-9]+)>")
_NAMED_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)")


class Fresh:
    """A cached picker whose picks are checked against the workspace as it is now (`fresh_for`)."""

    def __init__(self, picker: Picker, session: Session, team_id: str, now: datetime) -> None:
        self.picker, self.session, self.team_id, self.now = picker, session, team_id, now

    def pick(
        self, windows: dict[str, tuple[datetime, datetime]], *, limit: int, first: set[str] | None = None
    ) -> dict[str, list[Pick]]:
        found = self.picker.pick(windows, limit=limit * 3, first=first)  # some may have dropped out since
        return {
            user: fresh_for(self.session, team_id=self.team_id, user_id=user, now=self.now, found=got)[:limit]
            for user, got in found.items()
        }


def picks_for(session: Session, *, team_id: str, user_id: str, now: datetime, limit: int = PICKS) -> list[Pick]:
    """One person's picks as things stand (the Home tab): from the last week, or the weeks before
    when it was thin."""
    picker = cached_picker(session, team_id=team_id, now=now)
    built_at = picker.world.now
    fresh = Fresh(picker, session, team_id, now)
    return fresh.pick({user_id: (built_at - WEEK, built_at)}, limit=limit).get(user_id, [])
