"""One workspace's facts as arrays: who did what when, how each item reached the open, and each
item's words and topics, read once and indexed for scoring at any instant (a pass, or a fit's
earlier weeks)."""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from itertools import count
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize
from sqlmodel import Session

from bot.services.picks.model import ACT_WEIGHTS, ACTS, HISTORY, POOL, WEEK, Appearance
from storage import channels as channel_store
from storage import picks as store
from storage.picks import Facts


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


# Words of two letters or more (CountVectorizer's), with hyphenated terms kept whole: "rna-seq",
# "open-source" and "front-end" say more than their pieces.
_WORD = re.compile(r"(?u)\b\w+(?:-\w+)+\b|\b\w\w+\b")


def _counts(documents: Iterable[str]) -> sparse.csr_matrix:
    """How often each word (in lower case) occurs in each of `documents`, one row each, kept as
    4-byte numbers as they come (CountVectorizer's own counting keeps every occurrence as a Python
    object until the end: about 90 MB for a busy workspace's half year)."""
    vocabulary: defaultdict[str, int] = defaultdict(count().__next__)
    number = vocabulary.__getitem__
    words, ends = array("i"), array("q", [0])
    for document in documents:
        words.extend(map(number, _WORD.findall(document.lower())))
        ends.append(len(words))
    counts = sparse.csr_matrix(
        (
            np.ones(len(words), dtype=np.float32),
            np.frombuffer(words, dtype=np.int32),
            np.frombuffer(ends, dtype=np.int64),
        ),
        shape=(len(ends) - 1, max(1, len(vocabulary))),
    )
    counts.sum_duplicates()
    return counts


def _tfidf(documents: Iterable[str], public: np.ndarray) -> sparse.csr_matrix:
    """TF-IDF rows (sublinear counts, smoothed IDF, unit length) of `documents` (read once, one per
    item), whose words and their weights come from the `public` rows alone: a word only private
    items hold weighs nothing."""
    counts = _counts(documents)
    in_public = np.repeat(public, np.diff(counts.indptr))
    document_frequency = np.bincount(counts.indices[in_public], minlength=counts.shape[1])
    idf = np.where(document_frequency > 0, np.log((1 + public.sum()) / (1 + document_frequency)) + 1, 0.0)
    counts.data = (1 + np.log(counts.data)) * idf[counts.indices].astype(np.float32)
    counts.eliminate_zeros()
    return normalize(counts, copy=False)


@lru_cache(maxsize=4096)
def _token(phrase: str) -> str:
    return re.sub(r"\W+", "_", phrase.lower()).strip("_")


def _floats(values: Iterable[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _ints(values: Iterable[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(np.int64)


def _first(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct `keys` and where each first occurs."""
    return np.unique(keys, return_index=True)


class _Titles:
    """Titles by item column, kept as one string: a busy workspace's half year holds many."""

    def __init__(self, titled: list[tuple[int, str]]) -> None:
        self.columns = np.array([n for n, _ in titled], dtype=np.int64)
        self.ends = np.cumsum([len(title) for _, title in titled], dtype=np.int64)
        self.text = "".join(title for _, title in titled)

    def get(self, n: int) -> str | None:
        at = int(np.searchsorted(self.columns, n))
        if at == len(self.columns) or self.columns[at] != n:
            return None
        return self.text[int(self.ends[at - 1]) if at else 0 : int(self.ends[at])]


class World:
    """One workspace's facts as arrays, indexed for scoring at any instant up to `now` (a pass, or
    a fit's earlier weeks): people (rows, in order of id), items (columns, in order of id), their
    words and topics, how each reached the open, and who did what when."""

    def __init__(
        self,
        facts: Facts,
        members: dict[str, set[str]],
        now: datetime,
        *,
        texts: Callable[[list[int]], Iterable[tuple[int, store.Text]]],
        topics: Callable[[list[int]], Iterable[tuple[int, str]]],
    ) -> None:
        self.now = now
        for user in members:
            facts.person(user)
        names = list(facts.people)
        self.people = sorted(names)
        self.person = {user: n for n, user in enumerate(self.people)}
        recode = np.array([self.person[user] for user in names], dtype=np.int64)  # code -> row
        shares, saves, sent, listed, added = (
            facts.shares,
            facts.saves,
            facts.recommendations,
            facts.listed,
            facts.additions,
        )
        ids = {name: _ints(table["item"]) for name, table in (("shares", shares), ("saves", saves), ("sent", sent))}
        ids |= {"listed": _ints(listed["item"]), "added": _ints(added["item"])}
        self.items = np.unique(np.concatenate(list(ids.values())))
        n_items = len(self.items)
        # Shares (in the order they were made) and saves, by person row and item column.
        self.share_item, self.share_person = self.columns(ids["shares"]), recode[_ints(shares["person"])]
        self.share_at, self.share_open = _floats(shares["at"]), _floats(shares["open"]) > 0
        self.save_item, self.save_person = self.columns(ids["saves"]), recode[_ints(saves["person"])]
        self.save_at, self.save_open = _floats(saves["at"]), _floats(saves["open"]) > 0
        self.save_key = self.save_person * n_items + self.save_item
        # How each item reached the open: its first public share, or a list addition before it.
        self.appear_at = np.full(n_items, np.inf)
        self.appear_sharer = np.full(n_items, -1, dtype=np.int64)
        self.appear_channel = np.full(n_items, -1, dtype=np.int64)
        self.appear_list = np.full(n_items, -1, dtype=np.int64)
        order = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
        public_shares = np.nonzero(self.share_open)[0]
        first_items, first = _first(self.share_item[public_shares])
        chosen = public_shares[first]
        self.appear_at[first_items] = self.share_at[chosen]
        self.appear_sharer[first_items] = self.share_person[chosen]
        self.appear_channel[first_items] = _ints(shares["channel"])[chosen]
        order[first_items] = chosen
        add_item, add_list, add_at = self.columns(ids["added"]), _ints(added["list"]), _floats(added["at"])
        added_items, first = _first(add_item)
        earlier = add_at[first] < self.appear_at[added_items]
        fresh = np.isinf(self.appear_at[added_items])
        self.appear_at[added_items[earlier]] = add_at[first[earlier]]
        self.appear_list[added_items[earlier]] = add_list[first[earlier]]
        order[added_items[fresh]] = len(shares) + first[fresh]
        self.appear_order = order  # the order items first reached the open, for ties
        self.public = np.isfinite(self.appear_at)
        self.public[self.save_item[self.save_open]] = True
        self.channel_ids = list(facts.channels)
        self.channel_names: dict[str, str] = {}  # public channels' names, for reasons (Slack shows an id otherwise)
        self.list_names = facts.list_names
        self.list_ids = np.unique(add_list)
        self.list_item = sparse.csr_matrix(
            (np.ones(len(add_item), dtype=np.float32), (np.searchsorted(self.list_ids, add_list), add_item)),
            shape=(max(1, len(self.list_ids)), n_items),
        )
        self.list_item.sum_duplicates()
        self.list_item.data[:] = 1.0
        # Everything each person did, in private too: what it shapes is their own picks alone.
        what = [np.full(len(shares), ACTS.index("shared"))]
        what.append(np.where(_floats(saves["done"]) > 0, ACTS.index("done"), ACTS.index("saved")))
        what += [np.full(len(sent), ACTS.index("sent")), np.full(len(sent), ACTS.index("received"))]
        what.append(np.full(len(listed), ACTS.index("listed")))
        sent_items, listed_items = self.columns(ids["sent"]), self.columns(ids["listed"])
        sent_at = _floats(sent["at"])
        act_person = np.concatenate(
            [
                self.share_person,
                self.save_person,
                recode[_ints(sent["sender"])],
                recode[_ints(sent["receiver"])],
                recode[_ints(listed["owner"])],
            ]
        )
        act_item = np.concatenate([self.share_item, self.save_item, sent_items, sent_items, listed_items])
        act_at = np.concatenate([self.share_at, self.save_at, sent_at, sent_at, _floats(listed["at"])])
        by_person = np.argsort(act_person, kind="stable")
        self.act_person, self.act_item = act_person[by_person], act_item[by_person]
        self.act_what, self.act_at = np.concatenate(what)[by_person].astype(np.int8), act_at[by_person]
        self.act_key = self.act_person * n_items + self.act_item
        self.act_starts = np.searchsorted(self.act_person, np.arange(len(self.people) + 1))
        # Topics given in the open, and each item's words: their weights learned from the open alone.
        topic_index: dict[str, int] = {}
        number = topic_index.setdefault
        tagged, tags = array("q"), array("q")
        for item, tag in topics(self.items.tolist()):
            tagged.append(item)
            tags.append(number(tag, len(topic_index)))
        self.topic_names = list(topic_index)
        self.topic_matrix = sparse.csr_matrix(
            (np.ones(len(tags), dtype=np.float32), (self.columns(np.frombuffer(tagged, dtype=np.int64)), tags)),
            shape=(n_items, max(1, len(topic_index))),
        )
        self.topic_matrix.sum_duplicates()
        self.topic_matrix.data[:] = 1.0
        titled: list[tuple[int, str]] = []  # items in the open: what a reason may name
        self.vectors = _tfidf(self._documents(texts(self.items.tolist()), titled), self.public)
        self.titles = _Titles(titled)
        # Each person's settings and Not for me marks, as matrices over the same rows.
        self.members = self._settings(members, self.channel_index(), len(self.channel_ids))
        self.interests = self._settings(facts.interests, topic_index, len(self.topic_names))
        self.follows = self._settings(facts.follows, self.person, len(self.people))
        list_index = {int(list_id): n for n, list_id in enumerate(self.list_ids)}
        self.subscriptions = self._settings(facts.subscriptions, list_index, len(self.list_ids))
        dismissed = {
            user: {n for item in items if (n := self.column(item)) is not None}
            for user, items in facts.dismissed.items()
        }
        self.dismissed = self._settings(dismissed, None, n_items)
        self.subscribed = facts.subscriptions
        self.interested = facts.interests

    def columns(self, item_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.items, item_ids)

    def column(self, item_id: int) -> int | None:
        n = int(np.searchsorted(self.items, item_id))
        return n if n < len(self.items) and self.items[n] == item_id else None

    def channel_index(self) -> dict[str, int]:
        return {channel: n for n, channel in enumerate(self.channel_ids)}

    def _settings(self, values: dict[str, set[Any]], index: dict[Any, int] | None, width: int) -> sparse.csr_matrix:
        rows, cols = [], []
        for user, wanted in values.items():
            row = self.person.get(user)
            if row is None:
                continue
            for value in wanted:
                n = value if index is None else index.get(value)
                if n is not None:
                    rows.append(row)
                    cols.append(n)
        matrix = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(self.people), max(1, width))
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix

    def _documents(self, texts: Iterable[tuple[int, store.Text]], titled: list[tuple[int, str]]) -> Iterator[str]:
        """Each item's words, in column order, as the texts (in order of id) come in; the titles of
        those in the open into `titled`."""
        given = iter(texts)
        found = next(given, None)
        topics = self.topic_matrix
        for n, item in enumerate(self.items.tolist()):
            while found is not None and found[0] < item:
                found = next(given, None)
            text = found[1] if found is not None and found[0] == item else None
            if text is not None and text.title and self.public[n]:
                titled.append((n, text.title))
            tags = [self.topic_names[t] for t in topics.indices[topics.indptr[n] : topics.indptr[n + 1]]]
            yield _text_of(text, tags)

    # -- at an instant ---------------------------------------------------------------------------------

    def _matrix(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray | None = None) -> sparse.csr_matrix:
        data = np.ones(len(rows), dtype=np.float32) if values is None else values.astype(np.float32)
        matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(self.people), len(self.items)))
        matrix.sum_duplicates()
        return matrix

    def in_the_open_before(self, at: float, hidden: np.ndarray) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Who shared or saved what in the open before `at` (binary), and the saves alone; the
        saves of `hidden` (person-item keys: a fit's answers) left out."""
        shared = self.share_open & (self.share_at < at)
        kept = self.save_open & (self.save_at < at)
        if len(hidden):
            kept &= ~np.isin(self.save_key, hidden)
        took = self._matrix(self.share_person[shared], self.share_item[shared])
        saved = self._matrix(self.save_person[kept], self.save_item[kept])
        took = ((took + saved) > 0).astype(np.float32)
        return took, (saved > 0).astype(np.float32)

    def own_before(self, at: float, hidden: np.ndarray) -> sparse.csr_matrix:
        """What each person did before `at`, weighted by how much it says about them; what they did
        with the items of `hidden` (a fit's answers) other than share them left out."""
        kept = self.act_at < at
        if len(hidden):
            kept &= ~((self.act_what != ACTS.index("shared")) & np.isin(self.act_key, hidden))
        matrix = self._matrix(self.act_person[kept], self.act_item[kept], ACT_WEIGHTS[self.act_what[kept]])
        matrix.data = np.minimum(matrix.data, 2.0)
        return matrix

    def candidates(self, since: datetime, until: datetime) -> np.ndarray:
        """Columns of the items that reached the open in [since, until), in the order they did; a
        very busy stretch keeps the newest week's first, most saved in the open first, then the newest."""
        begin, end = since.timestamp(), until.timestamp()
        found = np.nonzero((self.appear_at >= begin) & (self.appear_at < end))[0]
        found = found[np.argsort(self.appear_order[found], kind="stable")]
        if len(found) <= POOL:
            return found
        counted = self.save_open & (self.save_at < end)
        saves = np.bincount(self.save_item[counted], minlength=len(self.items))[found]
        week = end - WEEK.total_seconds()
        at = self.appear_at[found]
        ranked = np.lexsort((self.items[found], -at, -saves, at < week))
        return found[ranked[:POOL]]

    def appearance(self, n: int) -> Appearance:
        sharer, channel, list_id = (int(v[n]) for v in (self.appear_sharer, self.appear_channel, self.appear_list))
        return Appearance(
            int(self.items[n]),
            datetime.fromtimestamp(float(self.appear_at[n]), tz=UTC),
            self.people[sharer] if sharer >= 0 else None,
            self.channel_ids[channel] if channel >= 0 else None,
            list_id if list_id >= 0 else None,
        )

    def acts_of(self, row: int) -> slice:
        return slice(int(self.act_starts[row]), int(self.act_starts[row + 1]))


def load_world(session: Session, *, team_id: str, now: datetime) -> World:
    """Everything picking reads for one workspace, as of `now`: the last half year."""
    facts = store.workspace_facts(session, team_id=team_id, since=now - HISTORY)
    in_the_open = set(_ints(facts.shares["channel"])[_floats(facts.shares["open"]) > 0].tolist())
    channels = sorted(channel for channel, code in facts.channels.items() if code in in_the_open)
    members: dict[str, set[str]] = {}
    for channel, people in channel_store.members_of(session=session, team_id=team_id, channel_ids=channels).items():
        for person in people:
            members.setdefault(person, set()).add(channel)
    world = World(
        facts,
        members,
        now,
        texts=lambda ids: store.texts(session, team_id=team_id, item_ids=ids),
        topics=lambda ids: store.open_topics(session, team_id=team_id, item_ids=ids),
    )
    world.channel_names = store.channel_names(session, team_id=team_id, channel_ids=channels)
    return world
