"""What picking is made of: its settings, its signals and their default weights, a pick, and the
scale signals are weighed on."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

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
SAVE_DELAY = timedelta(days=1)  # how long after a share saves come, as a fit takes it for imported saves
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
ACTS = tuple(ACT_WEIGHT)
ACT_WEIGHTS = np.array([ACT_WEIGHT[what] for what in ACTS], dtype=np.float32)


class Pick:
    """One pick: its item, its reason, and its score. The reason may be given as how to work it
    out, done when it is first read: a digest shows only some of the picks it is offered."""

    def __init__(self, item_id: int, why: str | Callable[[], str], score: float) -> None:
        self.item_id, self.score = item_id, score
        self._why = why

    @property
    def why(self) -> str:
        if not isinstance(self._why, str):
            try:
                self._why = self._why()
            except Exception:  # the digest goes out all the same, with a plainer reason; the trace is kept
                logger.exception("no reason for the pick of item %s", self.item_id)
                self._why = "new lately"
        return self._why


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


class Appearance(NamedTuple):
    """A candidate reaching the open: its first public share, or its first list addition."""

    item_id: int
    at: datetime
    sharer: str | None  # who shared it in public (None: it came from a list)
    channel_id: str | None  # the public channel it was first shared in
    list_id: int | None


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
