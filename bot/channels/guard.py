"""Patient-text hygiene shared by every public channel (REST, socket.io, webhook, SMS).

Public channels take text from anyone. Before it reaches Rasa it is cleaned here, in
one pure function, so every channel behaves the same and the rules are unit-tested
without a server:

- Invisible and control characters are removed (zero-width spaces, bidi controls,
  byte-order marks, lone surrogates, C0/C1 controls): they break tokenisation, can
  hide text from the red-flag rules, and a lone surrogate cannot even be stored as
  UTF-8. NFKC folds look-alike forms (full-width letters, ligatures) into plain ones.
- Whitespace is collapsed to single spaces.
- A leading "/" is neutralised. Rasa reads "/intent{...}" as an instruction that
  skips NLU and can set slots from the JSON; on a public channel that would let a
  patient (or anyone) drive the dialogue. The slashes are dropped, and when the text
  has the exact shape of that shortcut, its JSON part too, so "/ask_pain{"procedure":
  "rfa"}" becomes the ordinary words "ask pain" and sets no slot.
- A message longer than MAX_MESSAGE_CHARS is not sent to NLU (a canned "please ask a
  shorter question" is sent instead): long texts only slow NLU down and dilute the
  intent. A message with no letter or digit left (only punctuation or emoji) gets a
  canned "please type your question".
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

MAX_MESSAGE_CHARS = 2000

# Unicode categories removed: controls, format characters (zero-width, bidi, BOM, soft
# hyphen), surrogates, private use and unassigned code points.
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Characters of those categories that separate words: they become spaces, not nothing.
_SPACES = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")

# Rasa's intent shortcut after the slashes: a name, optional JSON entities, optional
# "@0.9" confidence (rasa.shared.nlu.constants.INTENT_MESSAGE_PREFIX and the
# RegexMessageHandler grammar).
_SHORTCUT = re.compile(r"^(?P<name>[\w.-]+)\s*(?:\{.*\})?\s*(?:@\s*[\d.]+)?\s*$", re.DOTALL)


class Verdict(enum.Enum):
    """What a channel should do with a cleaned message."""

    OK = "ok"  # send `text` to Rasa
    TOO_LONG = "too_long"  # reply with the "shorter question, please" message
    UNREADABLE = "unreadable"  # reply with the "please type your question" message


@dataclass(frozen=True)
class Cleaned:
    """The cleaned text and what to do with it."""

    text: str
    verdict: Verdict


def strip_invisible(text: str) -> str:
    """NFKC-normalised text without control/format characters; separators become spaces."""
    # Lone surrogates cannot be NFKC-normalised reliably; drop them first.
    text = "".join(char for char in text if not 0xD800 <= ord(char) <= 0xDFFF)
    text = unicodedata.normalize("NFKC", text)
    kept = []
    for char in text:
        if char in _SPACES or unicodedata.category(char) in ("Zl", "Zp"):
            kept.append(" ")
        elif unicodedata.category(char) not in _REMOVED_CATEGORIES:
            kept.append(char)
    return "".join(kept)


def neutralise_shortcut(text: str) -> str:
    """Drop leading slashes; a full "/intent{json}" shortcut becomes its intent's words."""
    stripped = text.lstrip("/ ")
    if stripped == text:
        return text
    match = _SHORTCUT.match(stripped)
    if match:
        return match.group("name").replace("_", " ").replace(".", " ").strip()
    return stripped


def is_readable(text: str) -> bool:
    """True when there is at least one letter or digit: something NLU can work with."""
    return any(unicodedata.category(char)[0] in ("L", "N") for char in text)


def clean(raw: str, max_chars: int = MAX_MESSAGE_CHARS) -> Cleaned:
    """Clean one patient message and say whether it can go to NLU."""
    text = " ".join(strip_invisible(raw).split())
    text = neutralise_shortcut(text)
    text = " ".join(text.split())
    if len(text) > max_chars:
        return Cleaned(text, Verdict.TOO_LONG)
    if not is_readable(text):
        return Cleaned(text, Verdict.UNREADABLE)
    return Cleaned(text, Verdict.OK)
