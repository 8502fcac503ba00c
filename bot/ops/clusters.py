"""Group the review queue's messages by meaning, so staff read a question once, not 40 times.

The sentence encoder the assistant already uses (bot/nlu/encoder.py) gives each message a
unit vector; messages whose vectors are close (cosine >= SIMILAR) join the same cluster,
greedily in time order, each compared with the clusters' running mean. This is what
"review suggestions" in hosted FAQ products do: similar unanswered questions together,
the biggest group first.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, List, Sequence

import numpy as np

from bot.ops.review_data import Cluster, Turn

# With all-MiniLM-L6-v2, close paraphrases of one question score about 0.5-0.9 and
# unrelated questions below 0.2; related questions in between may share a cluster,
# which a reviewer reading the examples can still tell apart.
SIMILAR = 0.45

Encode = Callable[[Sequence[str]], np.ndarray]


def cluster_turns(turns: Sequence[Turn], encode: Encode, similar: float = SIMILAR) -> List[Cluster]:
    """Clusters of `turns` worded alike: biggest first, then the most recent."""
    if not turns:
        return []
    ordered = sorted(turns, key=lambda turn: turn.time)
    vectors = np.asarray(encode([turn.text for turn in ordered]), dtype=np.float32)
    members: List[List[int]] = []
    sums: List[np.ndarray] = []
    for index, vector in enumerate(vectors):
        best, best_score = -1, similar
        for number, total in enumerate(sums):
            centre = total / (np.linalg.norm(total) or 1.0)
            score = float(centre @ vector)
            if score >= best_score:
                best, best_score = number, score
        if best < 0:
            members.append([index])
            sums.append(vector.copy())
        else:
            members[best].append(index)
            sums[best] += vector
    clusters = []
    for indexes in members:
        group = tuple(ordered[i] for i in indexes)
        guess = Counter(turn.intent or "none" for turn in group).most_common(1)[0][0]
        clusters.append(Cluster(turns=group, guess=guess))
    return sorted(clusters, key=lambda c: (-c.count, -c.last_seen.timestamp()))
