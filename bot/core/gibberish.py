"""Is a message keyboard mash rather than words ("asdfgh jkl qwerty")?

A statistical classifier always picks *some* intent, so "blorp zibble qqq" used to get an
answer about two blocks. This check needs no model: a message whose longer words are
almost all unknown to an English lexicon (the lemma tables of spaCy's lookups package,
about 90,000 words, which the project already installs) is not read as a question. Typos
pass ("wht is radiofrequncy ablaton" has known words and a procedure name), and so do
procedure names and abbreviations, which are added from the fact store.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import FrozenSet, Iterable, Iterator

# A message is mash when at least this share of its words (3+ letters) is unknown...
UNKNOWN_SHARE = 0.75
# ...and it has at least this many such words (one odd word is a typo or a name).
MIN_WORDS = 2
_WORD = re.compile(r"[a-z]{3,}")
# Chat words the lemma tables lack; with the tables' words and spaCy's stop words they
# make a greeting like "heyy whats up" English, not mash.
CHAT_WORDS = frozenset(
    "hi hey hiya howdy yo whats wassup thx plz pls idk lol gonna wanna gotta kinda sorta ya"
    " yeah yep nope omg btw tbh rn bye byee cya ttyl".split()
)
# Stretched letters ("hellloo", "heyyy") are tried at one and two letters per run; a word
# with more runs than this is left as typed.
MAX_RUNS = 4
_RUN = re.compile(r"(.)\1+")


@lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    """Words and inflections from spacy-lookups-data's English lemma tables."""
    spec = find_spec("spacy_lookups_data")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    words = set()
    with gzip.open(data / "en_lemma_lookup.json.gz", "rt", encoding="utf-8") as stream:
        for inflected, lemma in json.load(stream).items():
            words.update((inflected.lower(), lemma.lower()))
    with gzip.open(data / "en_lemma_index.json.gz", "rt", encoding="utf-8") as stream:
        for entries in json.load(stream).values():
            words.update(word.lower() for word in entries)
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(words) | frozenset(STOP_WORDS) | CHAT_WORDS


def _stretched_word(spelling: str, lexicon: FrozenSet[str]) -> bool:
    """True when an unstretched spelling is a word: of the lexicon when 3+ letters long
    (two-letter entries such as "jk" or "lp" would excuse mash like "jjjkk lllp"), or a
    chat word ("hiii" -> "hi")."""
    return spelling in CHAT_WORDS or (len(spelling) >= 3 and spelling in lexicon)


def _unstretched(word: str) -> Iterator[str]:
    """Each spelling of `word` with its repeated letters at one or two ("hellloo" -> ...,
    "hello"); none when it has no repeated letter, too many runs or one letter only."""
    runs = list(_RUN.finditer(word))
    if not runs or len(runs) > MAX_RUNS or len(set(word)) < 2:
        return
    for lengths in itertools.product((1, 2), repeat=len(runs)):
        parts, end = [], 0
        for run, length in zip(runs, lengths, strict=True):
            parts.append(word[end : run.start()] + run.group(1) * length)
            end = run.end()
        yield "".join(parts) + word[end:]


def is_gibberish(text: str, known: Iterable[str] = ()) -> bool:
    """True when the message's words are (almost) all unknown to English and to `known`."""
    lexicon = english_words()
    if not lexicon:
        return False
    extra = {word for phrase in known for word in _WORD.findall(phrase.lower())}
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return False
    unknown = [
        word
        for word in words
        if not (
            word in lexicon
            or word in extra
            or any(_stretched_word(spelling, lexicon) for spelling in _unstretched(word))
        )
    ]
    return len(unknown) / len(words) >= UNKNOWN_SHARE


def too_short(text: str) -> bool:
    """True for a message with at most one letter and no digit ("a", "?", "k."): nothing
    to classify, so the patient is asked to rephrase rather than given a guessed topic."""
    letters = sum(char.isalpha() for char in text)
    return letters <= 1 and not any(char.isdigit() for char in text)
