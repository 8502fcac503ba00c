"""What the staff review is made of: patient turns, their outcomes, and clusters of misses.

Plain data, no database and no Rasa: `bot.ops.conversations` fills it from the tracker
store, `bot.ops.clusters` groups the misses, `bot.ops.review` and
`bot.ops.review_html` write it out. The outcomes' vocabulary is bot.core.outcomes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from bot.core.outcomes import FALLBACK, NOT_COVERED, OUTCOMES, PERSONAL_ADVICE, RED_FLAG

# Why a turn is in the review queue.
QUEUE_REASONS = {
    FALLBACK: "not understood (asked to rephrase)",
    NOT_COVERED: "not covered by the articles",
    PERSONAL_ADVICE: "sent to the care team (personal decision)",
    "thumbs_down": "answer rated not helpful",
    "low_confidence": "answered with low confidence",
}


@dataclass(frozen=True)
class Turn:
    """One patient message and what the assistant did with it."""

    sender: str
    time: dt.datetime  # UTC
    channel: str
    text: str
    intent: str
    confidence: float
    outcome: str
    topic: Optional[str] = None  # the fact-store topic answered, if any
    vote: Optional[str] = None  # "up" / "down" from the widget's helpful? buttons
    queue_reason: Optional[str] = None  # a key of QUEUE_REASONS, or None


@dataclass(frozen=True)
class Cluster:
    """Queued turns worded alike."""

    turns: Tuple[Turn, ...]
    guess: str  # the intent the assistant guessed most often for them

    @property
    def count(self) -> int:
        return len(self.turns)

    @property
    def first_seen(self) -> dt.datetime:
        return min(turn.time for turn in self.turns)

    @property
    def last_seen(self) -> dt.datetime:
        return max(turn.time for turn in self.turns)

    @property
    def reasons(self) -> List[str]:
        return sorted({turn.queue_reason or "" for turn in self.turns} - {""})


@dataclass
class Review:
    """Everything one report shows, for the period [start, end)."""

    start: dt.datetime
    end: dt.datetime
    turns: List[Turn]
    clusters: List[Cluster] = field(default_factory=list)
    include_red_flag_text: bool = False

    def per_day(self) -> Dict[dt.date, Dict[str, int]]:
        """Turns per day and outcome."""
        days: Dict[dt.date, Dict[str, int]] = {}
        for turn in self.turns:
            row = days.setdefault(turn.time.date(), {outcome: 0 for outcome in OUTCOMES})
            row[turn.outcome] += 1
        return dict(sorted(days.items()))

    def outcome_counts(self) -> Dict[str, int]:
        counts = {outcome: 0 for outcome in OUTCOMES}
        for turn in self.turns:
            counts[turn.outcome] += 1
        return counts

    def topic_counts(self) -> List[Tuple[str, int, int, int]]:
        """(topic, answers, thumbs up, thumbs down), most asked first."""
        rows: Dict[str, List[int]] = {}
        for turn in self.turns:
            if turn.topic:
                row = rows.setdefault(turn.topic, [0, 0, 0])
                row[0] += 1
                row[1] += turn.vote == "up"
                row[2] += turn.vote == "down"
        return sorted(
            ((topic, *row) for topic, row in rows.items()), key=lambda item: (-item[1], item[0])
        )

    def queue(self) -> List[Turn]:
        """The turns to review; never a red flag, whose text stays out of the files."""
        return [turn for turn in self.turns if turn.queue_reason and turn.outcome != RED_FLAG]
