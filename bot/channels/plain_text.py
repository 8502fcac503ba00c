"""Render bot messages for plain-text channels (SMS, WhatsApp) and read numbered replies.

Web chat shows follow-up questions as buttons; a phone cannot. Here buttons become a
numbered list ("1. Does it hurt?") ending in "Reply 1, 2 or 3.", and a patient's bare
number ("2", "#2", " 2. ") is turned back into the payload of that choice, so it goes
through NLU exactly like tapping the button would. Long answers are split into parts
that each fit the SMS length limit, at paragraph, sentence or word boundaries, numbered
"(1/3) " because carriers do not guarantee that parts arrive in order.

Pure functions and one small in-memory class: no Rasa imports, so all of it is unit
tested without a server.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, List, Mapping, Optional, Protocol, Sequence, Tuple

from bot.core import environment

MAX_CHARS_ENV = "SMS_MAX_CHARS"
# 306 characters is exactly two billed segments of a concatenated GSM-7 SMS (153 each):
# long enough for one answer paragraph, and no part is billed a third segment for a few
# characters (the old default, 320, was three segments per part).
DEFAULT_MAX_CHARS = 306
# What a carrier bills: one GSM-7 SMS holds 160 characters; a longer one is sent in
# segments of 153. A single character outside GSM-7 makes it UCS-2: 70, then 67.
GSM7_SINGLE, GSM7_SEGMENT, UCS2_SINGLE, UCS2_SEGMENT = 160, 153, 70, 67
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")
# Below this, the "(12/12) " prefix would eat most of every part.
MIN_MAX_CHARS = 40
# Twilio refuses message bodies longer than 1600 characters.
MAX_MAX_CHARS = 1600

_CHOICE = re.compile(r"^\s*#?\s*([0-9]{1,3})\s*[.)]?\s*$")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_LINE_BREAK = re.compile(r"\n")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s)")
_WHITESPACE = re.compile(r"\s")
_WORD = re.compile(r"\s*(\S+)")


# First line of the advice for a present red flag, on channels with no other way to show it.
URGENT_LINE = "URGENT:"


def max_chars_from_env(environ: Optional[Mapping[str, str]] = None) -> int:
    """The part length limit from `SMS_MAX_CHARS`, or the default.

    A bad value stops the server at start-up with a clear message instead of
    silently sending parts the carrier would reject or split again.
    """
    return environment.bounded_int(
        MAX_CHARS_ENV,
        DEFAULT_MAX_CHARS,
        MIN_MAX_CHARS,
        MAX_MAX_CHARS,
        f"a whole number from {MIN_MAX_CHARS} to {MAX_MAX_CHARS}",
        environ,
    )


def billed_segments(text: str) -> int:
    """How many SMS segments a carrier bills for one message body."""
    if all(char in _GSM7 or char in _GSM7_EXTENDED for char in text):
        length = len(text) + sum(char in _GSM7_EXTENDED for char in text)
        single, segment = GSM7_SINGLE, GSM7_SEGMENT
    else:
        length, single, segment = len(text), UCS2_SINGLE, UCS2_SEGMENT
    return 1 if length <= single else -(-length // segment)


_CITATION = re.compile(r'"(?P<title>[^"]+)" \(sections? (?P<sections>"[^"]+"(?:, "[^"]+")*)\)')
_SIDE_LABEL = re.compile(
    r"^- [^\n:]*?\((?P<short>[A-Z]{2,4})\)(?P<more>(?: / [^\n:]*?\([A-Z]{2,4}\))*): ", re.M
)
_MORE_SHORT = re.compile(r"\(([A-Z]{2,4})\)")


def compact(text: str, short_titles: Mapping[str, str]) -> str:
    """The same answer in fewer characters, for SMS.

    The source line names each article by its short title from the fact store
    ('MBB vs FJI ("Introduction")'), and side-by-side lines are labelled
    "FJI:" instead of "Facet joint injection (FJI):". Nothing of the answer is dropped.
    """

    def citation(match: re.Match) -> str:
        title = match.group("title")
        return f"{short_titles.get(title, title)} ({match.group('sections')})"

    def label(match: re.Match) -> str:
        shorts = [match.group("short"), *_MORE_SHORT.findall(match.group("more") or "")]
        return f"- {' / '.join(shorts)}: "

    return _SIDE_LABEL.sub(label, _CITATION.sub(citation, text))


def choices_prompt(count: int) -> str:
    """'Reply 1.', 'Reply 1 or 2.', 'Reply 1, 2 or 3.' (and so on for more choices)."""
    if count < 1:
        return ""
    numbers = [str(number) for number in range(1, count + 1)]
    if count == 1:
        return "Reply 1."
    return f"Reply {', '.join(numbers[:-1])} or {numbers[-1]}."


def _title(button: Mapping[str, Any]) -> str:
    return str(button.get("title") or button.get("payload") or "").strip()


def render_message(text: str, buttons: Sequence[Mapping[str, Any]] = ()) -> str:
    """One message as plain text: the text, then the numbered choices and the prompt."""
    text = (text or "").strip()
    if not buttons:
        return text
    lines = [f"{number}. {_title(button)}" for number, button in enumerate(buttons, start=1)]
    lines.append(choices_prompt(len(buttons)))
    choices = "\n".join(lines)
    return f"{text}\n\n{choices}" if text else choices


def _last_cut(pattern: re.Pattern, window: str, use_end: bool) -> int:
    """Position of the last boundary of `pattern` in `window` (0 when there is none)."""
    positions = [match.end() if use_end else match.start() for match in pattern.finditer(window)]
    return max(positions, default=0)


def _cut_position(text: str, budget: int) -> int:
    """Where to end the next part of `text` (longer than `budget`).

    The highest-level boundary (paragraph, line, sentence) is preferred when it keeps at
    least half the budget, so parts are not wastefully short; otherwise the last word
    boundary; a cut inside a word only when that word is longer than the budget.
    """
    # A boundary at index `budget` is fine: the whitespace there is dropped.
    window = text[: budget + 1]
    levels = (
        _last_cut(_PARAGRAPH_BREAK, window, use_end=False),
        _last_cut(_LINE_BREAK, window, use_end=False),
        _last_cut(_SENTENCE_END, window, use_end=True),
    )
    for position in levels:
        if budget // 2 <= position <= budget:
            return position
    word = _last_cut(_WHITESPACE, window, use_end=False)
    following = _WORD.match(text, word)
    if word and following and len(following.group(1)) <= budget:
        return word
    # The word at the cut would not fit in any part: fill this part and cut inside it.
    return budget


def _chunk(text: str, budget: int) -> List[str]:
    parts: List[str] = []
    rest = text
    while len(rest) > budget:
        position = _cut_position(rest, budget)
        parts.append(rest[:position].rstrip())
        rest = rest[position:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _prefix(number: int, total: int) -> str:
    return f"({number}/{total}) "


def split_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> List[str]:
    """Split `text` into parts of at most `max_chars` characters, prefix included.

    Text that fits is returned as one part without a prefix. Otherwise every part gets
    "(i/n) "; the prefix width depends on n, so the split is redone with a narrower
    budget until the number of parts no longer outgrows the assumed prefix.
    """
    if max_chars < MIN_MAX_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_MAX_CHARS}, got {max_chars}")
    text = (text or "").strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    width = len(_prefix(9, 9))
    while True:
        chunks = _chunk(text, max_chars - width)
        total = len(chunks)
        needed = len(_prefix(total, total))
        if needed <= width:
            return [_prefix(number, total) + chunk for number, chunk in enumerate(chunks, 1)]
        width = needed


def render_parts(
    text: str,
    buttons: Sequence[Mapping[str, Any]] = (),
    max_chars: int = DEFAULT_MAX_CHARS,
) -> List[str]:
    """The SMS bodies to send for one bot message: rendered, then split."""
    return split_text(render_message(text, buttons), max_chars)


def parse_choice_number(text: str) -> Optional[int]:
    """The number in a bare-number reply ("2", " 2. ", "#2", "2)"), else None."""
    match = _CHOICE.match(text or "")
    return int(match.group(1)) if match else None


def resolve_choice(text: str, payloads: Sequence[str]) -> str:
    """The payload picked by a bare-number reply, or `text` unchanged.

    An out-of-range number ("7" with three choices) stays as typed, so NLU handles it
    like any other message rather than it silently meaning some other choice.
    """
    number = parse_choice_number(text)
    if number is not None and 1 <= number <= len(payloads):
        return payloads[number - 1]
    return text


def button_payloads(buttons: Sequence[Mapping[str, Any]]) -> Tuple[str, ...]:
    """What each numbered choice stands for: the payload, or the title when there is none."""
    return tuple(str(button.get("payload") or button.get("title") or "") for button in buttons)


class Choices(Protocol):
    """Where the choices offered to each sender are kept: this process (ChoiceMemory) or
    Redis for every replica (bot/channels/shared_choices.py)."""

    def offer(self, sender: str, payloads: Sequence[str]) -> None: ...

    def clear(self, sender: str) -> None: ...

    def resolve(self, sender: str, text: str) -> str: ...


class ChoiceMemory:
    """The choices last offered to each sender, so "2" can be mapped to its payload.

    Kept in memory only, bounded to the most recent `max_senders` senders: after a
    restart (or with several server processes) a number reply is not mapped and goes
    to NLU as typed, which answers with a rephrase prompt rather than a wrong answer.
    """

    def __init__(self, max_senders: int = 10_000) -> None:
        self.max_senders = max_senders
        self._offered: OrderedDict[str, Tuple[str, ...]] = OrderedDict()

    def offer(self, sender: str, payloads: Sequence[str]) -> None:
        """Remember the numbered choices just sent to `sender` (replacing older ones)."""
        self._offered[sender] = tuple(payloads)
        self._offered.move_to_end(sender)
        while len(self._offered) > self.max_senders:
            self._offered.popitem(last=False)

    def clear(self, sender: str) -> None:
        """Forget `sender`'s choices: numbers refer only to the latest bot turn."""
        self._offered.pop(sender, None)

    def offered(self, sender: str) -> Tuple[str, ...]:
        return self._offered.get(sender, ())

    def resolve(self, sender: str, text: str) -> str:
        """`text`, or the payload it selects among the choices last offered to `sender`."""
        return resolve_choice(text, self.offered(sender))
