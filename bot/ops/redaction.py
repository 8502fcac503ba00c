"""Redaction: take what can identify a person out of patient text before staff see it.

The staff report lists what patients typed to the assistant, and patients type more than
their question: a phone number to be called back on, an e-mail, the date of their
procedure or their birthday, their street address, an insurance or record number. None of
that is needed to improve the answers, so `redact` replaces each with a placeholder
("[email]", "[phone]", "[date]", "[address]", "[number]") before the text reaches the
report, and leaves the rest byte-identical so the question itself can still be read.

It recognises patterns, not people: names ("my name is Ann Lee"), towns, obfuscated
e-mails ("ann at gmail dot com") and anything typed in an unexpected shape get through.
It is a best effort, which is why the report is still marked as containing patient
information and written readable by its owner only (that part is done where the report
is written, not here).

The order matters. E-mails go first (their digits and dots look like other things), then
dates (so a phone matcher cannot read a date's digits as a number to call), then phone
numbers, then street addresses, and last any long run of digits that is left: record,
insurance, card and social security numbers. Placeholders contain no digits and no "@",
and every pattern needs one or the other, so a second pass finds nothing new: `redact` is
idempotent (tests/test_redaction.py checks it on every sample).
"""

from __future__ import annotations

import re
from typing import List, Tuple

import phonenumbers

EMAIL = "[email]"
PHONE = "[phone]"
DATE = "[date]"
ADDRESS = "[address]"
NUMBER = "[number]"

# A phone number has at least 7 digits; most patient messages have none and skip the matcher.
_MIN_PHONE_DIGITS = 7
# A "remaining run" of digits this long is an identifier (record, card, SSN, ZIP, ...).
_MIN_ID_DIGITS = 5

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b"
)

# --- dates -------------------------------------------------------------------------------

_DAY = r"(?:3[01]|[12][0-9]|0?[1-9])(?![0-9])"
_ORDINAL = r"(?:st|nd|rd|th)\b"
_YEAR = r"(?:[12][0-9]{3}|'[0-9]{2})(?![0-9])"
# Full names and 3-letter abbreviations (plus "Sept"), with an optional dot after them.
_MONTH = (
    r"\b(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
# A bare number after a month is a count, not a day, when a word like these follows:
# "May 2 people come with me?", "May 2 or 3 of us?", "march 5 miles", "May 50% of them".
_COUNT_FOLLOWS = (
    r"(?!\s*-\s*[0-9]|\s*%|\s+(?:(?:to|or|and)\s+[0-9]+\s+)?"
    r"(?:percent|times|x|people|persons|family|friends|kids|children|of|more|days?|weeks?"
    r"|months?|years?|hours?|hrs?|minutes?|mins?|miles?|injections?|shots?|blocks?|pills?"
    r"|tablets?|mg|visits?|sessions?)\b)"
)
# Words before a lowercase "may" that make it the month: "on may 5", "since may 3".
_MONTH_CONTEXT = re.compile(
    r"\b(?:on|since|from|until|till|by|before|after|in|last|next|this|around|early|late|mid)"
    r"\s*$",
    re.IGNORECASE,
)

# 3/14/2025, 03-14-25, 14.03.2025 (same separator twice), ISO 2025-03-14, and 12/2024
# (a month and a year; "7/10" pain scores and "1/2" doses have no 4-digit year).
_NUMERIC_DATE = re.compile(
    r"(?<![0-9/.-])(?:"
    r"[0-9]{1,2}(?P<sep>[/.-])[0-9]{1,2}(?P=sep)(?:[0-9]{4}|[0-9]{2})"
    r"|[12][0-9]{3}(?P<isep>[/.-])(?:1[0-2]|0?[1-9])(?P=isep)(?:3[01]|[12][0-9]|0?[1-9])"
    r"|(?:1[0-2]|0?[1-9])/(?:19|20)[0-9]{2}"
    r")(?![0-9/-]|\.[0-9])"
)
# 14 March 2025, 3rd of May, 14th March.
_DAY_MONTH = re.compile(
    rf"\b(?P<day>{_DAY})(?P<ord>{_ORDINAL})?\s+(?P<of>of\s+)?{_MONTH}" rf"(?P<year>,?\s+{_YEAR})?",
    re.IGNORECASE,
)
# March 14, March 14th, Mar 3rd 2024, Jan 5, March 14-16, March 14, 2025.
_MONTH_DAY = re.compile(
    rf"{_MONTH}\s+(?P<day>{_DAY})(?P<ord>{_ORDINAL})?(?:\s*-\s*{_DAY}(?:{_ORDINAL})?)?"
    rf"(?:(?P<year>,?\s+{_YEAR})|{_COUNT_FOLLOWS})",
    re.IGNORECASE,
)
# March 2025, May of 2024.
_MONTH_YEAR = re.compile(rf"{_MONTH},?\s+(?:of\s+)?{_YEAR}", re.IGNORECASE)

# --- phones ------------------------------------------------------------------------------

_SEP = r"[\s.-]?"
# Common US shapes, for what the matcher leaves out (it does not read a 7-digit local number
# with a leading "+1", for example). A leading "$" or "." means an amount or a decimal.
_PHONE = re.compile(
    r"(?<![\w$.+-])(?:"
    rf"(?:\+?1{_SEP})?\([0-9]{{3}}\)\s?[0-9]{{3}}{_SEP}[0-9]{{4}}"
    rf"|(?:\+?1{_SEP})?[0-9]{{3}}{_SEP}[0-9]{{3}}{_SEP}[0-9]{{4}}"
    r"|\+[0-9]{1,3}(?:[ .-]?[0-9]{2,4}){2,5}"
    r"|[0-9]{3}[.-][0-9]{4}"
    r")(?![\w-]|\.[0-9])"
)
_DIGIT_GROUP = re.compile(r"[0-9]+")

# --- street addresses --------------------------------------------------------------------

_SUFFIXES_PLAIN = (
    r"st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|ct|pl|terrace|terr?|pkwy|parkway"
    r"|hwy|highway|cir"
)
# Ordinary English words too ("my 2 kids drive"): taken when capitalised, after a house
# number of 3 or more digits, or when an apartment/unit follows.
_SUFFIXES_WORDS = r"dr|drive|way|place|court|circle"
# Words that do not appear inside a street name but do appear between a count and a verb
# ("after 2 weeks I could drive", "2 blocks down the road").
_NOT_STREET_WORDS = (
    r"a|an|the|to|of|for|from|in|on|at|by|with|and|or|but|if|so|as|is|was|are|were|be|been"
    r"|am|i|im|i'm|me|my|you|your|we|our|he|his|she|her|it|its|they|them|their|this|that"
    r"|these|those|can|could|will|would|should|may|might|must|do|did|does|not|no|then|than"
    r"|after|before|until|into|down|up|over|about|around|more|less|other|different|times?"
    r"|days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|seconds?|miles?|blocks?|shots?"
    r"|injections?|people|kids|cars?|mg|percent|x"
)
_UNIT = r"(?:,?\s*(?:(?:apt|apartment|unit|suite|ste)\.?\s*#?\s*|#\s*)[A-Za-z0-9][A-Za-z0-9-]*)"
_ADDRESS = re.compile(
    r"(?<![\w.$/-])(?P<number>[0-9]{1,6}[A-Za-z]?)"
    rf"(?:\s+(?!(?:{_NOT_STREET_WORDS})\b)(?:[A-Za-z][A-Za-z'.-]*|[0-9]+(?:st|nd|rd|th))){{1,4}}"
    rf"\s+(?:(?P<plain>{_SUFFIXES_PLAIN})|(?P<word>{_SUFFIXES_WORDS}))\b\.?"
    rf"(?P<unit>{_UNIT})?(?![\w'])",
    re.IGNORECASE,
)

# --- remaining identifiers ---------------------------------------------------------------

# Digits joined by dashes (123-45-6789) or by single spaces between groups of 2 or more
# digits (4111 1111 1111 1111). A run joined by spaces needs more digits to count as one
# number, so "in 2023 10 days later" stays and "I had 2 12345" keeps its "2".
_DIGIT_RUN = re.compile(r"[0-9]+(?:-[0-9]+|(?<=[0-9]{2}) (?=[0-9]{2})[0-9]+)*")
_DASHED_RUN = re.compile(r"[0-9]+(?:-[0-9]+)*")
_MIN_SPACED_ID_DIGITS = 7
_ANY_DIGIT = re.compile(r"[0-9]")


def redact(text: str) -> str:
    """`text` with e-mails, dates, phone numbers, street addresses and long digit runs replaced.

    Placeholders are "[email]", "[date]", "[phone]", "[address]" and "[number]"; everything
    else is returned byte for byte. Recognition is by pattern, so it is a best effort: see
    the module docstring for what gets through. Idempotent: redact(redact(t)) == redact(t).
    """
    if not text:
        return text
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if not _ANY_DIGIT.search(text):
        # Every remaining kind (dates included: a day or a year) needs a digit.
        return text
    text = _redact_dates(text)
    text = _redact_phones(text)
    text = _ADDRESS.sub(_address_or_keep, text)
    return _DIGIT_RUN.sub(_number_or_keep, text)


def _redact_dates(text: str) -> str:
    text = _NUMERIC_DATE.sub(DATE, text)
    text = _DAY_MONTH.sub(_day_month_or_keep, text)
    text = _MONTH_DAY.sub(_month_day_or_keep, text)
    return _MONTH_YEAR.sub(DATE, text)


def _is_verb_may(match: re.Match[str]) -> bool:
    """A lowercase "may" is the verb unless something marks it as the month."""
    return match.group("month") == "may"


def _day_month_or_keep(match: re.Match[str]) -> str:
    # "the first 2 may hurt": lowercase "may" counts only as "3rd may", "3 of may", "3 may 2024".
    if _is_verb_may(match) and not (match.group("ord") or match.group("of") or match["year"]):
        return match.group(0)
    return DATE


def _month_day_or_keep(match: re.Match[str]) -> str:
    # "you may 3 ..." is unlikely but "may" is too common a word: lowercase needs "3rd", a
    # year, or a word before it like "on may 3".
    if _is_verb_may(match) and not (match.group("ord") or match.group("year")):
        if not _MONTH_CONTEXT.search(match.string, 0, match.start()):
            return match.group(0)
    return DATE


def _redact_phones(text: str) -> str:
    if len(_ANY_DIGIT.findall(text)) < _MIN_PHONE_DIGITS:
        return text
    spans: List[Tuple[int, int]] = []
    for found in phonenumbers.PhoneNumberMatcher(
        text, "US", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        if _looks_like_phone(found.raw_string):
            spans.append((found.start, found.end))
    spans.extend(m.span() for m in _PHONE.finditer(text))
    if not spans:
        return text
    pieces: List[str] = []
    end = 0
    for start, stop in _merge(spans):
        pieces += [text[end:start], PHONE]
        end = stop
    pieces.append(text[end:])
    return "".join(pieces)


def _looks_like_phone(raw: str) -> bool:
    """Reject what the lenient matcher takes for a number but a patient did not mean as one.

    Kept: 10 or more digits ("617 555 0123", "+44 20 7946 0958") that are not a list of
    single digits ("1 2 3 4 5 6 7 8 9 10" is counting), and a local number written 3-4
    ("555 0142"). A bare 7 to 9 digit string is a record or member number and is left for
    "[number]"; "12345 10" is two numbers.
    """
    groups = _DIGIT_GROUP.findall(raw)
    digits = sum(len(group) for group in groups)
    if digits >= 10:
        return len(groups) == 1 or sum(len(group) == 1 for group in groups) <= 1
    return [len(group) for group in groups] == [3, 4]


def _merge(spans: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    merged: List[Tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _address_or_keep(match: re.Match[str]) -> str:
    suffix = match.group("word")
    if suffix and not (
        suffix[0].isupper() or len(match.group("number")) >= 3 or match.group("unit")
    ):
        return match.group(0)
    return ADDRESS


def _number_or_keep(match: re.Match[str]) -> str:
    run = match.group(0)
    if " " in run:
        if _count_digits(run) >= _MIN_SPACED_ID_DIGITS:
            return NUMBER
        return _DASHED_RUN.sub(_number_or_keep, run)
    return NUMBER if _count_digits(run) >= _MIN_ID_DIGITS else run


def _count_digits(text: str) -> int:
    return len(_ANY_DIGIT.findall(text))
