"""Flesch-Kincaid grade level, to keep answers at about US grade 8 or below.

A small self-contained estimate (vowel-group syllable count), good enough to
catch an answer drifting into dense medical prose; not a linguistic tool.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?:;]+(?:\s|$)")


def syllables(word: str) -> int:
    """Estimated syllables in one English word (at least one)."""
    word = word.lower().strip("'")
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:es|ed|e)$", "", word) if not word.endswith("le") else word
    groups = re.findall(r"[aeiouy]+", word)
    return max(1, len(groups))


def grade_level(text: str) -> float:
    """Flesch-Kincaid grade of `text` (0 when there are no words)."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text.strip() + " ")))
    syllable_count = sum(syllables(word) for word in words)
    return 0.39 * len(words) / sentences + 11.8 * syllable_count / len(words) - 15.59
