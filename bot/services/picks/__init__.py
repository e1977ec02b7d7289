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

Where things are: `world` reads a workspace's facts into arrays (storage.picks does the reading,
through the one visibility rule), `scoring` turns them into signals for a batch of people,
`fitting` learns the weights, and `picker` ranks and gives reasons. This module is what the rest
of Peershelf calls: a workspace's picker with its kept weights, the weekly refit, and the Home
tab's picks, checked against the workspace as it is when they are shown.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.services import Services
from bot.services.lookups import workspaces
from bot.services.picks.fitting import Fit, fit
from bot.services.picks.model import DEFAULTS, HISTORY, MIN_POSITIVES, PICKS, REFIT_AFTER, WEEK, Pick, Weights
from bot.services.picks.picker import Picker
from bot.services.picks.world import World, load_world
from storage import picks as store

__all__ = [
    "DEFAULTS",
    "MIN_POSITIVES",
    "PICKS",
    "WEEK",
    "Fit",
    "Fresh",
    "Pick",
    "Picker",
    "Weights",
    "World",
    "cached_picker",
    "fit",
    "forget_cached",
    "load_world",
    "picker_for",
    "picks_for",
    "refit",
    "refit_due",
    "weights_for",
]

logger = logging.getLogger(__name__)


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
    taken = store.taken_since(session, team_id=team_id, user_id=user_id, since=now - HISTORY)
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
