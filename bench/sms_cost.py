"""What one SMS answer costs: parts and billed segments, for every topic and procedure.

    python -m bench.sms_cost

Every answer the fact store can give (each topic alone, for each procedure, and side by
side), rendered as the SMS channel sends it, with its follow-up choices. "before" is the
old rendering (320-character parts, full article titles and procedure labels); "after"
is today's (306-character parts, so each part is exactly two segments, and short titles).
A carrier bills segments, not parts (see `plain_text.billed_segments`).
"""

from __future__ import annotations

import statistics
from typing import Dict, Iterator, List, Tuple

from bot.channels import plain_text
from bot.channels.sms import short_titles_from_fact_store
from bot.core.answers import Reply, answer_topic
from bot.core.facts import FactStore, load_fact_store

OLD_MAX_CHARS = 320


def replies(store: FactStore) -> Iterator[Reply]:
    for topic_id in store.topics:
        yield answer_topic(store, topic_id)
        yield answer_topic(store, topic_id, compare=True)
        for procedure in store.procedures:
            yield answer_topic(store, topic_id, procedure=procedure)


def cost(reply: Reply, max_chars: int, short_titles: Dict[str, str]) -> Tuple[int, int]:
    """(parts, billed segments) of one reply."""
    text = plain_text.compact(reply.text, short_titles) if short_titles else reply.text
    buttons = [{"title": button.title, "payload": button.payload} for button in reply.buttons]
    parts = plain_text.render_parts(text, buttons, max_chars)
    return len(parts), sum(plain_text.billed_segments(part) for part in parts)


def main() -> Dict[str, Dict[str, float]]:
    store = load_fact_store()
    unique = {reply.text: reply for reply in replies(store)}
    short = short_titles_from_fact_store()
    results: Dict[str, Dict[str, float]] = {}
    for label, max_chars, titles in (
        ("before", OLD_MAX_CHARS, {}),
        ("after", plain_text.DEFAULT_MAX_CHARS, short),
    ):
        costs: List[Tuple[int, int]] = [cost(r, max_chars, titles) for r in unique.values()]
        parts = [c[0] for c in costs]
        segments = [c[1] for c in costs]
        results[label] = {
            "answers": len(costs),
            "mean_parts": statistics.mean(parts),
            "max_parts": max(parts),
            "mean_segments": statistics.mean(segments),
            "max_segments": max(segments),
            "total_segments": sum(segments),
        }
        print(
            f"{label:6} {len(costs)} answers: parts mean {statistics.mean(parts):.2f} "
            f"max {max(parts)}; billed segments mean {statistics.mean(segments):.2f} "
            f"max {max(segments)} total {sum(segments)}"
        )
    return results


if __name__ == "__main__":
    main()
