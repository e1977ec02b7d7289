# Builds the simulated workspaces that bench/recommend.py replays through Peershelf; the dataset it reads stays outside the repository.
"""A simulated Slack workspace built from a public library-sharing dataset, for judging recommendations.

Input: a directory in the citeulike format (users.dat: one line per person, a count then item ids;
mult.dat: one line per item, a count then word_id:count; vocabulary.dat: one word a line;
optionally tag-item.dat (one line per tag, a count then item ids) with tags.dat).

`workspace(dir, people=300, seed=1)` picks a community of people who hold items in common (a
workspace is people with overlapping interests), lays their items out as links shared in a few
topic channels over WEEKS weeks before the digest instant, and dates every other holder's save a
little after the share (exponential, mean SAVE_DAYS).  Saves before the digest instant are visible
(bookmark reactions on the message); saves after it, of items shared in the last week, are the
held-out truth that a digest sent at that instant should surface.

`anchors(ws)` ranks the last week's items for every person by popularity, by content (TF-IDF of
the page text against what the person shared and saved) and by collaborative filtering (EASE on
the visible person x item matrix), plus a blend of the three whose weight is chosen on the week
before (never on the held-out week).  `hit_rate(ranked, ws)` is the share of people with held-out
items whose first K picks hold at least one; `recall(ranked, ws)` the mean share of each person's
held-out items found in their first K.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import numpy as np

WEEKS = 8
SAVE_DAYS = 3.0
K = 5
SINGLES = 0.1  # share of items held by one person that are shared at all
DAY = 86400.0


def read(dirpath: str) -> dict:
    def lines(name):
        with open(f"{dirpath}/{name}", encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()

    people = [[int(x) for x in ln.split()[1:]] for ln in lines("users.dat") if ln.strip()]
    vocab = lines("vocabulary.dat")
    words = {}
    for i, ln in enumerate(lines("mult.dat")):
        bag = []
        for part in ln.split()[1:]:
            w, c = part.split(":")
            bag.append((vocab[int(w)], int(c)))
        words[i] = bag
    tags: dict[int, list[str]] = defaultdict(list)
    try:
        names = lines("tags.dat")
        for t, ln in enumerate(lines("tag-item.dat")):
            for item in ln.split()[1:]:
                tags[int(item)].append(names[t])
    except FileNotFoundError:
        pass
    return {"people": people, "words": words, "tags": tags}


def _community(people: list[list[int]], n: int, rng: random.Random, min_items=8) -> list[int]:
    holders: dict[int, list[int]] = defaultdict(list)
    for p, items in enumerate(people):
        for i in items:
            holders[i].append(p)
    eligible = [p for p, items in enumerate(people) if len(items) >= min_items]
    seed = rng.choice(eligible)
    chosen, score = [seed], Counter()
    taken = {seed}
    while len(chosen) < n:
        for i in people[chosen[-1]]:
            for q in holders[i]:
                if q not in taken and len(people[q]) >= min_items:
                    score[q] += 1.0 / len(holders[i])
        if not score:
            q = rng.choice([p for p in eligible if p not in taken])
        else:
            q = max(score, key=lambda x: (score[x], -x))
            del score[q]
        chosen.append(q)
        taken.add(q)
    return chosen


def _title(bag):
    best = [w for w, _ in sorted(bag, key=lambda wc: -wc[1])][:7]
    return " ".join(best).capitalize() or "Untitled"


def _description(bag, rng):
    words = [w for w, c in sorted(bag, key=lambda wc: -wc[1]) for _ in range(min(c, 2))][:60]
    rng.shuffle(words)
    return " ".join(words)


def workspace(dirpath: str, people: int = 200, seed: int = 1, now: float = 1796464800.0, channels: int = 6) -> dict:
    """`now` defaults to Monday 2026-12-07 10:00 UTC (past 09:00, the default digest time)."""
    data = read(dirpath)
    rng = random.Random(seed)
    members = _community(data["people"], people, rng)
    uid = {p: f"U{p:08d}" for p in members}
    holders: dict[int, list[int]] = defaultdict(list)
    for p in members:
        for i in data["people"][p]:
            if i in data["words"]:
                holders[i].append(p)
    # items two or more of them hold, and a few that only one holds (most shared links get no save)
    items = sorted(i for i, hs in holders.items() if len(hs) >= 2 or rng.random() < SINGLES)
    # channels: the most common tags among the community's items (after the very generic ones)
    tag_count = Counter(t for i in items for t in set(data["tags"].get(i, [])))
    generic = {"no-tag", "imported", "bibtex-import", "citeulike", "paper", "papers", "toread", "review", "todo"}
    topic_tags = [t for t, _ in tag_count.most_common(60) if t not in generic and len(t) > 2][:channels]
    chans = [{"id": "C0GENERAL", "name": "general", "topic_tag": None}] + [
        {"id": f"C0TOPIC{j:02d}", "name": f"reading-{t}"[:70].lower(), "topic_tag": t} for j, t in enumerate(topic_tags)
    ]
    channel_of = {}
    for i in items:
        its = set(data["tags"].get(i, []))
        channel_of[i] = next((c["id"] for c in chans[1:] if c["topic_tag"] in its), "C0GENERAL")
    member_of: dict[str, set[str]] = {c["id"]: set() for c in chans}
    for p in members:
        count = Counter(channel_of[i] for i in data["people"][p] if i in channel_of)
        member_of["C0GENERAL"].add(uid[p])
        for c, n in count.items():
            if n >= 2:
                member_of[c].add(uid[p])
    start = now - WEEKS * 7 * DAY
    last_week = now - 7 * DAY
    messages, truth, visible = [], defaultdict(set), defaultdict(set)
    page = {}
    for i in items:
        hs = holders[i][:]
        rng.shuffle(hs)
        sharer = hs[0]
        channel = channel_of[i]
        if uid[sharer] not in member_of[channel]:
            member_of[channel].add(uid[sharer])
        t = start + rng.random() * (now - start - 3600)
        reactions = []
        for q in hs[1:]:
            saved = t + rng.expovariate(1.0 / (SAVE_DAYS * DAY))
            if saved < now:
                reactions.append(uid[q])
                visible[uid[q]].add(i)
            elif t >= last_week:
                truth[uid[q]].add(i)
        visible[uid[sharer]].add(i)
        bag = data["words"][i]
        page[i] = {"path": f"/lib/{i}.html", "title": _title(bag), "description": _description(bag, rng),
                   "keywords": [t for t in data["tags"].get(i, []) if t not in generic][:6]}
        messages.append({"item": i, "channel": channel, "user": uid[sharer], "ts": f"{t:.6f}", "reactions": reactions,
                         "last_week": t >= last_week})
    messages.sort(key=lambda m: float(m["ts"]))
    return {
        "now": now,
        "users": [uid[p] for p in members],
        "channels": [{"id": c["id"], "name": c["name"], "members": sorted(member_of[c["id"]])} for c in chans],
        "pages": page,
        "messages": messages,
        "visible": {u: sorted(v) for u, v in visible.items()},
        "truth": {u: sorted(v) for u, v in truth.items() if v},
    }


# -- anchors ---------------------------------------------------------------------------------------


def _candidates(ws, since: float, until: float):
    return [m["item"] for m in ws["messages"] if since <= float(m["ts"]) < until]


def _visible_until(ws, until: float):
    """person -> items shared by them or saved (reaction) by them on messages before `until`."""
    held = defaultdict(set)
    for m in ws["messages"]:
        if float(m["ts"]) < until:
            held[m["user"]].add(m["item"])
            for u in m["reactions"]:
                held[u].add(m["item"])
    return held


def _tfidf(ws, items):
    docs = {i: (ws["pages"][i]["title"] + " " + ws["pages"][i]["description"] + " " + " ".join(ws["pages"][i]["keywords"])).lower().split()
            for i in items}
    df = Counter(w for d in docs.values() for w in set(d))
    n = len(docs)
    vec = {}
    for i, d in docs.items():
        tf = Counter(d)
        v = {w: (1 + math.log(c)) * math.log(n / df[w]) for w, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vec[i] = {w: x / norm for w, x in v.items()}
    return vec


def _rank(scores: dict, exclude: set, k=K * 4):
    return [i for i, _ in sorted(((i, s) for i, s in scores.items() if i not in exclude), key=lambda x: (-x[1], x[0]))][:k]


def _score_sets(ws, cut: float, held):
    """Per-person score dicts for the week before `cut`: popularity, content, EASE."""
    cands = _candidates(ws, cut - 7 * DAY, cut)
    when = {m["item"]: float(m["ts"]) for m in ws["messages"]}
    pop = Counter()
    for m in ws["messages"]:
        if cut - 7 * DAY <= float(m["ts"]) < cut:
            pop[m["item"]] += 1 + len(m["reactions"])
    all_items = sorted({i for s in held.values() for i in s} | set(cands))
    vec = _tfidf(ws, all_items)
    users = ws["users"]
    index = {i: j for j, i in enumerate(all_items)}
    X = np.zeros((len(users), len(all_items)), dtype=np.float32)
    for a, u in enumerate(users):
        for i in held.get(u, ()):
            X[a, index[i]] = 1.0
    G = X.T @ X + 200.0 * np.eye(len(all_items), dtype=np.float32)
    P = np.linalg.inv(G)
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    cand_idx = [index[i] for i in cands]
    ease_all = X @ B[:, cand_idx]
    out = {"popularity": {}, "content": {}, "ease": {}}
    for a, u in enumerate(users):
        mine = held.get(u, set())
        prof = Counter()
        for i in mine:
            for w, x in vec[i].items():
                prof[w] += x
        out["popularity"][u] = {i: pop[i] + 1e-12 * when[i] for i in cands}
        out["content"][u] = {i: sum(x * prof.get(w, 0.0) for w, x in vec[i].items()) for i in cands}
        out["ease"][u] = {i: float(ease_all[a, j]) for j, i in enumerate(cands)}
    return out


def _z(d: dict) -> dict:
    if not d:
        return d
    v = np.array(list(d.values()), dtype=float)
    mu, sd = v.mean(), v.std() or 1.0
    return {k: (x - mu) / sd for k, x in d.items()}


def _blend(sets, u, w):
    parts = [_z(sets[name][u]) for name in ("popularity", "content", "ease")]
    return {i: w[0] * parts[0][i] + w[1] * parts[1][i] + w[2] * parts[2][i] for i in parts[0]}


def _truth_for_cut(ws, cut: float, held_before):
    """Held-out truth for an earlier cut: visible saves after `cut` of items shared in the week before it."""
    truth = defaultdict(set)
    for m in ws["messages"]:
        if cut - 7 * DAY <= float(m["ts"]) < cut:
            for u in m["reactions"]:
                if m["item"] not in held_before.get(u, set()):
                    truth[u].add(m["item"])
    return truth


def anchors(ws) -> dict[str, dict[str, list[int]]]:
    now = ws["now"]
    held = {u: set(v) for u, v in ws["visible"].items()}
    sets = _score_sets(ws, now, held)
    ranked = {name: {u: _rank(sets[name][u], held.get(u, set())) for u in ws["users"]} for name in sets}
    # blend weights chosen on the week before (its truth: saves visible now, made after that cut)
    cut = now - 7 * DAY
    held_before = _visible_until(ws, cut)
    # what each person held at the earlier cut: their shares before it and saves on those messages
    # (a save's own time is not visible, so saves on messages before the cut count as held then,
    # except those on the last week before the cut, which are the validation truth)
    vtruth = _truth_for_cut(ws, cut, {})
    held_v = {u: set(s) - vtruth.get(u, set()) for u, s in held_before.items()}
    vsets = _score_sets(ws, cut, held_v)
    grid = [(a, b, c) for a in (0, 0.5, 1) for b in (0, 0.5, 1, 2) for c in (0, 0.5, 1, 2) if a + b + c > 0]
    best, best_w = -1.0, (1, 1, 1)
    for w in grid:
        r = {u: _rank(_blend(vsets, u, w), held_v.get(u, set())) for u in ws["users"]}
        h = hit_rate(r, {"truth": {u: sorted(v) for u, v in vtruth.items() if v}})
        if h > best:
            best, best_w = h, w
    ranked[f"blend{best_w}"] = {u: _rank(_blend(sets, u, best_w), held.get(u, set())) for u in ws["users"]}
    return ranked


def hit_rate(ranked: dict[str, list[int]], ws, k: int = K) -> float:
    people = [u for u, t in ws["truth"].items() if t]
    if not people:
        return 0.0
    return 100.0 * sum(1 for u in people if set(ranked.get(u, [])[:k]) & set(ws["truth"][u])) / len(people)


def recall(ranked: dict[str, list[int]], ws, k: int = K) -> float:
    people = [u for u, t in ws["truth"].items() if t]
    if not people:
        return 0.0
    return 100.0 * sum(len(set(ranked.get(u, [])[:k]) & set(ws["truth"][u])) / min(k, len(ws["truth"][u])) for u in people) / len(people)
