"""Weights learned from a workspace's own earlier weeks."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from bot.services.picks.model import (
    DEFAULTS,
    FEATURES,
    FIT_WEEKS,
    LEARNED,
    MIN_POSITIVES,
    NEGATIVES_PER_PERSON,
    SAVE_DELAY,
    SUB_BATCH,
    WEEK,
    Scale,
    Weights,
)
from bot.services.picks.scoring import Scorer
from bot.services.picks.world import World


@dataclass
class Fit:
    weights: Weights
    examples: int
    positives: int


def fit(world: World, *, weeks: int = FIT_WEEKS, seed: int = 7) -> Fit:
    """Weights learned from the workspace's own earlier weeks.

    At each cut (one, two, … weeks ago) the question a digest asks is put again: of the items that
    reached the open in the week before the cut, which did each person go on to save? The saves
    made after the cut are the answers, left out of every signal; those made before it count as
    made, as they would have when a digest went out then. A history import dates each save at its
    message, so for those the cut is drawn: such a save counts as still to come with the chance
    that a save comes that long after the share (exp(−age / SAVE_DELAY)): at a cut, most saves of
    an item shared the day before are still to come, and nearly all of one shared a week before
    are made. A logistic regression then learns, from each person's candidates set against one
    another, how much each signal says.

    It learns only from what was done in the open (public shares, saves made in the open), so that
    nobody's private activity shapes the weights everyone's picks go through. The signals only
    private facts feed (interests, follows, subscriptions, Not for me) keep their default weights,
    on the scale of the learned ones."""
    rng = random.Random(seed)
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    positives = 0
    n_items = len(world.items)
    took_by = np.unique(world.save_key[world.save_open])  # who saved what in the open, ever (person-item keys)
    # Saves dated at the very moment their item reached the open: imported ones, whose time is not known.
    undated = np.unique(
        world.save_key[world.save_open & (np.abs(world.save_at - world.appear_at[world.save_item]) < 1)]
    )
    for k in range(1, weeks + 1):
        cut = world.now - WEEK * k  # the newest week's saves are still coming in: it is never asked
        pool = world.candidates(cut - WEEK, cut)
        if len(pool) < 2:
            continue
        place = np.full(n_items, -1, dtype=np.int64)
        place[pool] = np.arange(len(pool))
        person, item = took_by // n_items, took_by % n_items
        asked = (place[item] >= 0) & (world.appear_sharer[item] != person)
        answers = took_by[asked]  # in order of person, then item: as people and items are numbered
        draws = np.array([rng.random() for _ in range(len(answers))])
        age = (cut.timestamp() - world.appear_at[answers % n_items]) / SAVE_DELAY.total_seconds()
        hidden = answers[np.isin(answers, undated) & (draws < np.exp(-age))]
        scorer = Scorer(world, cut, pool, hidden)
        people = np.unique(answers // n_items)
        cut_rows, cut_labels = [], []
        for start in range(0, len(people), SUB_BATCH):
            users = people[start : start + SUB_BATCH]
            values = scorer.features(users, open_only=True)
            excluded = scorer.excluded(users, open_only=True)
            wanted = np.zeros((len(users), len(pool)), dtype=bool)
            mine = answers[np.isin(answers // n_items, users)]
            wanted[np.searchsorted(users, mine // n_items), place[mine % n_items]] = True
            for row in range(len(users)):
                y = wanted[row] & ~excluded[row]
                positive_cols = np.nonzero(y)[0]
                negative_cols = np.nonzero(~excluded[row] & ~y)[0]
                if not len(positive_cols) or not len(negative_cols):
                    continue
                if len(negative_cols) > NEGATIVES_PER_PERSON:
                    negative_cols = np.array(sorted(rng.sample(list(negative_cols), NEGATIVES_PER_PERSON)))
                cols = np.concatenate([positive_cols, negative_cols]).astype(np.int64)
                cut_rows.append(values[:, row, cols].T)
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
