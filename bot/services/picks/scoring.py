"""The signals for people × candidates at one instant, computed for a batch of people at once."""

from __future__ import annotations

import random
from datetime import datetime

import numpy as np
from scipy import linalg, sparse
from sklearn.preprocessing import normalize

from bot.services.picks.model import EASE_ITEMS, EASE_LAMBDA, FEATURES
from bot.services.picks.world import World


class Scorer:
    """The signals for people × candidates at instant `at`, in sub-batches of people."""

    def __init__(self, world: World, at: datetime, pool: np.ndarray, hidden: np.ndarray | None = None) -> None:
        self.world, self.at, self.pool = world, at, pool
        stamp = at.timestamp()
        hidden = np.zeros(0, dtype=np.int64) if hidden is None else hidden
        self.took, self.saved = world.in_the_open_before(stamp, hidden)
        self.own = world.own_before(stamp, hidden)
        self.own_binary = (self.own > 0).astype(np.float32)
        cols = pool
        self.took_pool = self.took[:, cols].tocsr()
        self.own_pool = self.own_binary[:, cols].tocsr()
        self.saved_pool = self.saved[:, cols].tocsr()
        self.dismissed_pool = world.dismissed[:, cols].tocsr()
        self.pool_vectors = world.vectors[cols]
        self.pool_words = self.pool_vectors.T.tocsr()  # (words, candidates): what profiles are held against
        self.pool_saves = np.asarray(self.saved_pool.sum(axis=0)).ravel()
        self.ease_items, self.ease = _ease(self.took, cols)
        # Which channel and sharer each item came from (as known at `at`).
        known = world.appear_at < stamp
        item_channel = np.where(known, world.appear_channel, -1)
        item_sharer = np.where(known, world.appear_sharer, -1)
        item_channel[cols], item_sharer[cols] = world.appear_channel[cols], world.appear_sharer[cols]
        self.pool_channel, self.pool_sharer = item_channel[cols], item_sharer[cols]
        self.channel_of_item = _one_hot(item_channel, max(1, len(world.channel_ids)))
        self.sharer_of_item = _one_hot(item_sharer, max(1, len(world.people)))
        self.pool_topics = world.topic_matrix[cols]
        self.pool_topic_count = np.maximum(np.asarray(self.pool_topics.sum(axis=1)).ravel(), 1.0)
        self.pool_age_days = (stamp - world.appear_at[cols]) / 86400
        self.pool_lists = world.list_item[:, cols].T.tocsr()  # (candidates, lists)
        self._took_csc: sparse.csc_matrix | None = None
        self._saved_csc: sparse.csc_matrix | None = None

    def takers_of(self, items: np.ndarray) -> np.ndarray:
        """Who shared or saved any of `items` (world columns) in the open."""
        if self._took_csc is None:
            self._took_csc = self.took.tocsc()
        found = [stored_indices(self._took_csc, int(item)) for item in items]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def savers(self, col: int) -> np.ndarray:
        """Who saved the candidate at pool column `col` in the open."""
        if self._saved_csc is None:
            self._saved_csc = self.saved_pool.tocsc()
        return stored_indices(self._saved_csc, col)

    def features(self, users: np.ndarray, *, open_only: bool = False) -> np.ndarray:
        """(features, people, candidates) for the people at rows `users` of the world. With
        `open_only`, only what they did in the open counts (for a fit's weights and a pass's scale,
        which every pick goes through: nobody's private activity may shape them)."""
        w = self.world
        n, c = len(users), len(self.pool)
        out = np.zeros((len(FEATURES), n, c), dtype=np.float32)
        if not n or not c:
            return out
        own = self.took[users] if open_only else self.own[users]
        own_binary = own if open_only else self.own_binary[users]
        # content: the person's profile (their items' words, weighted) against each candidate's words
        profile = normalize(own @ w.vectors)
        out[0] = (profile @ self.pool_words).toarray()
        # colleagues: EASE over who shared and saved what in the open
        if len(self.ease_items):
            out[1] = own_binary[:, self.ease_items] @ self.ease
        saved_here = self.saved_pool[users].toarray()
        out[2] = np.log1p(np.maximum(self.pool_saves[None, :] - saved_here, 0.0))
        # channel: how much of what the person did came from the candidate's channel, and whether they are in it
        has_channel = (self.pool_channel >= 0)[None, :]
        channel_cols = np.where(self.pool_channel >= 0, self.pool_channel, 0)
        per_channel = (own_binary @ self.channel_of_item).toarray()
        out[3] = np.log1p(per_channel[:, channel_cols]) * has_channel
        out[4] = (w.members[users].toarray()[:, channel_cols] > 0) & has_channel
        has_sharer = (self.pool_sharer >= 0)[None, :]
        sharer_cols = np.where(self.pool_sharer >= 0, self.pool_sharer, 0)
        per_sharer = own_binary @ self.sharer_of_item
        out[5] = np.log1p(per_sharer[:, sharer_cols].toarray()) * has_sharer
        # topic: the share of the person's items on the candidate's topics
        counts = np.maximum(np.asarray(own_binary.sum(axis=1)).ravel(), 1.0)
        topic_profile = sparse.diags(1.0 / counts) @ (own_binary @ w.topic_matrix)
        out[6] = (topic_profile @ self.pool_topics.T).toarray() / self.pool_topic_count[None, :]
        out[10] = -self.pool_age_days[None, :] / 7.0
        if open_only:
            return out
        # their settings, and what they waved off
        out[7] = (w.interests[users] @ self.pool_topics.T).toarray() > 0
        out[8] = (w.follows[users][:, sharer_cols].toarray() > 0) & has_sharer
        out[9] = (w.subscriptions[users] @ self.pool_lists.T).toarray() > 0
        waved = w.dismissed[users]
        if waved.nnz:
            out[11] = ((waved @ w.vectors) @ self.pool_words).toarray()
        return out

    def excluded(self, users: np.ndarray, *, open_only: bool = False) -> np.ndarray:
        """(people, candidates): True where the person shared the item, or already has it (saved,
        done, sent, was sent) or waved it off, or shared or saved it in the open (only the last with
        `open_only`)."""
        mask = self.took_pool[users].toarray() > 0
        if not open_only:
            mask |= self.own_pool[users].toarray() > 0
            mask |= self.dismissed_pool[users].toarray() > 0
        mask |= self.pool_sharer[None, :] == np.asarray(users)[:, None]
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
    gram = (part.T @ part).toarray()
    gram[np.diag_indices_from(gram)] += EASE_LAMBDA
    factor = linalg.cho_factor(gram, overwrite_a=True, check_finite=False)
    weights = np.zeros((len(items), len(pool)), dtype=np.float32)
    weights[np.arange(len(pool)), np.arange(len(pool))] = 1.0
    weights = linalg.cho_solve(factor, weights, overwrite_b=True, check_finite=False)  # those columns of the inverse
    weights /= -np.diag(weights[: len(pool)])[None, :]
    weights[np.arange(len(pool)), np.arange(len(pool))] = 0.0
    return items, np.ascontiguousarray(weights, dtype=np.float32)  # LAPACK answers in column order


def stored_indices(matrix: sparse.csr_matrix | sparse.csc_matrix, n: int) -> np.ndarray:
    """The indices stored in row `n` of a CSR matrix (column `n` of a CSC one), read in place."""
    return np.asarray(matrix.indices[matrix.indptr[n] : matrix.indptr[n + 1]])


def _one_hot(assigned: np.ndarray, width: int) -> sparse.csr_matrix:
    rows = np.nonzero(assigned >= 0)[0]
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, assigned[rows])), shape=(len(assigned), width)
    )


def sample_pairs(features: np.ndarray, allowed: np.ndarray, limit: int, rng: random.Random) -> np.ndarray:
    pairs = np.argwhere(allowed)
    if len(pairs) > limit:
        pairs = pairs[rng.sample(range(len(pairs)), limit)]
    return features[:, pairs[:, 0], pairs[:, 1]].T if len(pairs) else np.zeros((0, len(FEATURES)), dtype=np.float32)
