"""medspaCy's RegexMatcher, reading a message's text once instead of once per pattern.

medspaCy 1.3.1's `RegexMatcher.__call__` asks the spaCy `Doc` for `text_with_ws` inside its
loop over patterns, and spaCy rebuilds that string from every token on each call. With the
few hundred patterns of data/safety.yml that was about 1 ms of every message in the Rasa
server (docs/benchmarks.md, "Where a turn's time goes"). `_call` is medspaCy's own loop
(MIT licence) with the string read once; nothing else changes. It is installed only on the
version it was written against; tests/test_safety.py checks that it finds exactly what the
original finds.
"""

from __future__ import annotations

from typing import Any, List, Tuple

MEDSPACY_VERSION = "1.3.1"

_original: Any = None


def _call(self: Any, doc: Any) -> List[Tuple[int, int, int]]:
    from medspacy.common.regex_matcher import get_token_for_char

    text = doc.text_with_ws
    matches: List[Tuple[int, int, int]] = []
    for match_id, patterns in self._patterns.items():
        for pattern in patterns:
            on_match = self._callbacks[match_id]
            for re_match in pattern.finditer(text):
                span = doc.char_span(re_match.start(), re_match.end())
                if span is None:
                    start = get_token_for_char(doc, re_match.start(), resolve=self.resolve_start)
                    end = get_token_for_char(doc, re_match.end(), resolve=self.resolve_end)
                    end_index = len(doc) if end is None else end.i
                    span = doc[start.i : end_index]
                if len(span):
                    matches.append((match_id, span.start, span.end))
                if on_match is not None:
                    on_match(self, doc, len(matches) - 1, matches)
    return matches


def install() -> bool:
    """Replace the matcher's `__call__` on the medspaCy it was written for; True if done."""
    global _original
    import medspacy
    from medspacy.common.regex_matcher import RegexMatcher

    if medspacy.__version__ != MEDSPACY_VERSION:
        return False
    if _original is None:
        _original = RegexMatcher.__call__
        RegexMatcher.__call__ = _call
    return True


def uninstall() -> None:
    """Put medspaCy's own `__call__` back (tests compare the two)."""
    global _original
    from medspacy.common.regex_matcher import RegexMatcher

    if _original is not None:
        RegexMatcher.__call__ = _original
        _original = None
