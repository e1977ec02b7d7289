"""Each person's best candidates of a pass, and a short, true reason for each."""

from __future__ import annotations

import random
from datetime import datetime
from functools import partial

import numpy as np

from bot.services.picks.model import (
    ACTS,
    FEATURES,
    PICKS,
    SUB_BATCH,
    THIN,
    THIN_LOOKBACK,
    WEEK,
    Appearance,
    Pick,
    Scale,
    Weights,
)
from bot.services.picks.scoring import Scorer, sample_pairs, stored_indices
from bot.services.picks.world import World
from bot.slack import blocks


class _Asked:
    """What the reasons of one person's picks read, each worked out once for all of them."""

    def __init__(self, scorer: Scorer, user_row: int, cols: list[int]) -> None:
        self.scorer, self.user_row, self.cols = scorer, user_row, cols
        self._neighbours: np.ndarray | None = None
        self._closeness: tuple[np.ndarray, np.ndarray] | None = None

    def neighbours(self) -> np.ndarray:
        """People who took, in the open, something this person took."""
        if self._neighbours is None:
            mine = stored_indices(self.scorer.own_binary, self.user_row)
            self._neighbours = self.scorer.takers_of(mine) if len(mine) else np.zeros(0, dtype=np.int64)
        return self._neighbours

    def closest(self, col: int) -> tuple[int, float] | None:
        """The person's item in the open closest in words to the candidate at `col`, and how close.
        Named only after what is in the open: a digest may be shown around; a private title stays out."""
        if self._closeness is None:
            w = self.scorer.world
            mine = stored_indices(self.scorer.own, self.user_row)
            mine = mine[w.public[mine]]
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
        if not len(scorer.pool):
            return {}
        scale = self._scale_for(scorer)
        # Scores are the weighed sum of the scaled signals: the scale folded into the weights.
        weights = self.weights.vector() / scale.spread
        offset = float(weights @ scale.mean)
        weights = weights.astype(np.float32)
        appeared = w.appear_at[scorer.pool][None, :]
        found: dict[str, list[Pick]] = {}
        people = [u for u in windows if u in w.person]
        for start in range(0, len(people), SUB_BATCH):
            chunk = people[start : start + SUB_BATCH]
            rows = np.array([w.person[u] for u in chunk], dtype=np.int64)
            values = scorer.features(rows)
            scores = np.tensordot(weights, values, axes=1) - offset
            begin = np.array([windows[u][0].timestamp() for u in chunk])[:, None]
            end = np.array([windows[u][1].timestamp() for u in chunk])[:, None]
            open_to_them = ~scorer.excluded(rows) & (appeared < end)
            in_week = open_to_them & (appeared >= begin)
            best = _best(scores, in_week, limit)
            thin = (in_week.sum(axis=1) < THIN) & np.array([first is None or u in first for u in chunk])
            older = open_to_them & ~in_week & (appeared >= begin - (THIN_LOOKBACK - WEEK).total_seconds())
            older[~thin] = False
            filling = _best(scores, older, limit) if thin.any() else [[] for _ in chunk]
            orders = [(best[row] + filling[row])[:limit] for row in range(len(chunk))]
            at_rows = np.array([row for row, order in enumerate(orders) for _ in order], dtype=np.int64)
            at_cols = np.array([j for order in orders for j in order], dtype=np.int64)
            # What each pick's reason reads, gathered at once: its scaled signals, item and score.
            signals = scale.apply(values[:, at_rows, at_cols].T).tolist()
            item_ids = w.items[scorer.pool[at_cols]].tolist()
            picked_scores = scores[at_rows, at_cols].tolist()
            n = 0
            for row, user in enumerate(chunk):
                asked = _Asked(scorer, int(rows[row]), orders[row])
                found[user] = []
                for j in orders[row]:
                    found[user].append(Pick(item_ids[n], partial(self._why, asked, j, signals[n]), picked_scores[n]))
                    n += 1
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
            sample = np.array(sorted(rng.sample(people, min(len(people), SUB_BATCH))), dtype=np.int64)
            values = scorer.features(sample, open_only=True)
            allowed = ~scorer.excluded(sample, open_only=True)
            self._scale = Scale.of(sample_pairs(values, allowed, 200_000, rng))
        return self._scale

    def _why(self, asked: _Asked, col: int, scaled: list[float]) -> str:
        """The truest short reason: the signal that counted most for this pick, said plainly."""
        scorer, user_row = asked.scorer, asked.user_row
        appearance = self.world.appearance(int(scorer.pool[col]))
        # A signal counts as a reason only where it is there and it speaks for the item.
        weights = self.weights.values
        counted = [
            (value * weights[name], f, name) for f, (name, value) in enumerate(zip(FEATURES, scaled, strict=True))
        ]
        for _, _, name in sorted((-c, f, name) for c, f, name in counted if c > 0 and weights[name] > 0):
            reason = self._reason(name, asked, self.world.people[user_row], col, appearance)
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
            name = self.world.list_names.get(appearance.list_id)
            return f"new in _{blocks.slack_escape(name)}_" if name else "new on a list"
        return "new this week"

    def _reason(self, feature: str, asked: _Asked, user: str, col: int, appearance: Appearance) -> str | None:
        w, scorer = self.world, asked.scorer
        n = int(scorer.pool[col])
        topics = [w.topic_names[t] for t in stored_indices(w.topic_matrix, n)]
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
            title = w.titles.get(best)
            if closeness <= 0.05 or not title:
                return None
            return f"close to _{blocks.slack_escape(title[:80])}_ {self._what_you_did(asked.user_row, best)}"
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
            liked = sorted(set(topics) & w.interested.get(user, set()))
            if liked:
                return f"on {liked[0]}, one of your interests"
        if feature == "listed":
            lists = sorted(int(w.list_ids[i]) for i in stored_indices(scorer.pool_lists, col))
            lists = [i for i in lists if i in w.subscribed.get(user, set())]
            if lists:
                return f"in _{blocks.slack_escape(w.list_names.get(lists[0], 'a list'))}_, which you follow"
        if feature == "topic" and topics:
            return f"on {sorted(topics)[0]}, like much of what you keep"
        return None

    def _what_you_did(self, row: int, n: int) -> str:
        w = self.world
        span = w.acts_of(row)
        did = {ACTS[int(what)] for what in w.act_what[span][w.act_item[span] == n]}
        said = {
            "done": "you read",
            "saved": "you saved",
            "shared": "you shared",
            "listed": "on your list",
            "sent": "you recommended",
        }
        return next((said[what] for what in said if what in did), "you were sent")


def _best(scores: np.ndarray, allowed: np.ndarray, limit: int) -> list[list[int]]:
    """Each row's best `limit` columns among the allowed, best first (ties: the earlier column)."""
    if not scores.shape[1] or not limit:
        return [[] for _ in range(len(scores))]
    keys = np.where(allowed, -scores, np.inf)
    k = min(limit, keys.shape[1])
    # Only columns scoring at least each row's k-th best can be among its best: sort just those.
    bar = np.partition(keys, k - 1, axis=1)[:, k - 1 : k]
    found = []
    for row, (key, most) in enumerate(zip(keys, bar[:, 0], strict=True)):
        near = np.nonzero((key <= most) & allowed[row])[0]
        found.append(near[np.lexsort((near, key[near]))][:k].tolist())
    return found
