"""Find the question in a long message, so the classifier reads the question, not the story.

Patients often tell a story first and ask at the end: "I'm a teacher and can't miss
days ... How long is the recovery from a medial branch block?". Read whole, the story's
words outweigh the question's ("miss a lot of days" pulls towards how long relief
lasts). Read alone, the last question is classified as well as any short one.

The span is the last sentence that ends with "?", or a later one that starts like a
question without its "?" (else the last sentence); when that
sentence is short and points back ("Is that normal?") or carries the one before on
("... a test or a treatment? And the facet shot?"), the sentence before it is kept too,
since it says what "that" is or what is asked again. Pure Python; the Rasa component that
applies it is `bot.nlu.components.QuestionFocus`.
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

# A "?" or "." inside brackets ("the burning thing (rfa?) which one lasts longest") does
# not end the sentence.
_SENTENCE = re.compile(r"(?:[^.?!]|[.?!]+(?=\s*\)))+[.?!]*")
# Words that point back to an earlier sentence ("Is that normal?", "Will it hurt?").
_POINTS_BACK = re.compile(r"\b(?:that|this|it|its|it's|those|these|they|them|so|there)\b", re.I)
# A short question weighing what the sentence before it told ("Should I worry?").
_JUDGES_THE_STORY = re.compile(
    r"\b(?:worry|worried|worrying|concern|concerned|alarmed|normal|expected|serious|a bad sign)\b",
    re.I,
)
# A fragment that asks the sentence before it again for something else: "Is the block a
# test or a treatment? And the facet shot?".
_CARRIES_ON = re.compile(r"^(?:and|also|or|plus|what about|how about|same for)\b", re.I)
# A question that says the one before it again in other words: "Will I be numb after the
# block? Like, is numbness normal or a bad sign?" is read with it.
_RESTATES = re.compile(r"^(?:like|i mean|as in|meaning|in other words)\b", re.I)
# The words a question starts with.
_QUESTION_WORD = (
    r"(?:what|what's|whats|how|why|when|where|which|who|is|are|can|could|does|do|did|will"
    r"|would|should)\b"
)
# A sentence that asks, with or without its "?": "... didn't work?? what is the block for".
_ASKS = re.compile(
    r"^(?:(?:so|and|but|ok|okay|anyway|also|well|then|now|\d[).])[, ]+)*" + _QUESTION_WORD, re.I
)
# ...or asks indirectly, perhaps after a clause: "I don't have one, just asking what the
# normal aftereffects are", "I was wondering how long the block lasts".
_ASKS_INDIRECTLY = re.compile(
    r"(?:^|[,;:] |\s-+\s)(?:(?:just|i'?m|i am|i was|im|really|mostly|only)\s+)*"
    r"(?:asking|wondering|curious)(?: about)?[, ]+" + _QUESTION_WORD,
    re.I,
)
# "and" ("plus", "and also") before a word that starts a question: "is it a test, and
# what happens next?".
_JOINS_QUESTION = re.compile(r",?\s+(?:and|&|plus)\s+(?:also\s+)?(?=" + _QUESTION_WORD + ")", re.I)
# A comma alone, or a number ("1) what is it 2) does it hurt"), before a word that starts
# a question: "does it hurt, how long is recovery?" (not after a condition or a time, "if
# it fails, what then?", nor after "which ..." or "what about ...": "which lasts longer,
# is it the block?", "what about rfa, can that be repeated?" are one question each).
_COMMA_JOINS_QUESTION = re.compile(r"(?:,|\s+\d[).])\s+(?=" + _QUESTION_WORD + ")", re.I)
_LEADS_IN = re.compile(
    r"\b(?:if|when|whenever|after|before|once|since|because|unless|while)\b"
    r"|^\s*(?:which|(?:and |so |ok )?(?:what|how) about|same for)\b",
    re.I,
)
# "Which one goes into the joint and which one on the nerves?" is one question in two
# halves.
_PAIRED = re.compile(r"^\s*which\b", re.I)
# Words of a comparison, whose "and" joins the two things compared.
_COMPARES = re.compile(r"\b(?:between|differen\w*|compare\w*|versus|vs)\b", re.I)
# A sentence needs this many words to count as one (not "Ok." or "Thanks!").
MIN_SENTENCE_WORDS = 3


def points_back(text: str) -> bool:
    """True when `text` has a word pointing back at something said before ("is that
    normal?", "who gets it?")."""
    return _POINTS_BACK.search(text) is not None


def _asks(sentence: str) -> bool:
    """True when a sentence without its "?" still asks (`_ASKS`, `_ASKS_INDIRECTLY`)."""
    return bool(_ASKS.match(sentence) or _ASKS_INDIRECTLY.search(sentence))


def _sentences(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each sentence of at least MIN_SENTENCE_WORDS words, stripped."""
    spans = []
    for match in _SENTENCE.finditer(text):
        piece = match.group()
        if len(piece.split()) < MIN_SENTENCE_WORDS:
            continue
        start = match.start() + (len(piece) - len(piece.lstrip()))
        end = match.end() - (len(piece) - len(piece.rstrip()))
        spans.append((start, end))
    return spans


def question_span(
    text: str, min_words: int, standalone_words: int, names: Sequence[Tuple[int, int]] = ()
) -> Optional[Tuple[int, int]]:
    """(start, end) of the question of a message of at least `min_words` words, else None.

    None also when the message has a single sentence: there is no story to set aside.
    A question of fewer than `standalone_words` words that points back keeps the sentence
    before it. Words of the procedure names at `names` (start, end) don't count: "And
    what about a facet joint injection?" is as short as "And what about it?".
    """
    if len(text.split()) < min_words:
        return None
    sentences = _sentences(text)
    if len(sentences) < 2:
        return None
    questions = [i for i, (start, end) in enumerate(sentences) if text[end - 1] == "?"]
    last = questions[-1] if questions else len(sentences) - 1
    # A question typed without its "?" after the last one that has it is the question.
    for later in range(last + 1, len(sentences)):
        if _asks(text[sentences[later][0] : sentences[later][1]]):
            last = later
    start, end = sentences[last]
    question = text[start:end]
    if last > 0 and _RESTATES.match(question):
        return sentences[last - 1][0], end
    if _words_outside(text, start, end, names) >= standalone_words or last == 0:
        return start, end
    if points_back(question) or _JUDGES_THE_STORY.search(question):
        # "... My legs tingle. Is that normal?": the sentence before says what "that" is;
        # "... getting better each day. Should I worry?": what the worry is about. While
        # that is a short question pointing back too ("... now it's back. Is that
        # normal?? Did it fail"), the one before it as well.
        first = last - 1
        while (
            first > 0
            and points_back(text[sentences[first][0] : sentences[first][1]])
            and _words_outside(text, *sentences[first], names) < standalone_words
        ):
            first -= 1
        return sentences[first][0], end
    if _CARRIES_ON.match(question):
        # "Is the block a test or a treatment? And what about the facet shot?": the
        # sentence before asks; the fragment only adds a procedure, which is found in
        # the whole message.
        return sentences[last - 1]
    return start, end


def _words_outside(text: str, start: int, end: int, names: Sequence[Tuple[int, int]]) -> int:
    """How many words `text[start:end]` has outside the spans `names`."""
    kept, at = [], start
    for name_start, name_end in sorted(names):
        if name_end <= start or name_start >= end:
            continue
        kept.append(text[at:name_start])
        at = max(at, name_end)
    kept.append(text[at:end])
    return len(" ".join(kept).split())


def question_sentences(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each question of `text`: a sentence that ends with "?" or starts
    like a question ("... so how long does it last"), split where it joins two questions
    (`_joined_questions`: "what is in it and how long does it work?"). A message may ask
    several. A question that restates the one just before it ("Like, is that normal?")
    is read with it, as one."""
    questions: List[Tuple[int, int]] = []
    for start, end in _sentences(text):
        if text[end - 1] != "?" and not _asks(text[start:end]):
            continue
        if questions and _RESTATES.match(text[start:end]):
            questions[-1] = (questions[-1][0], end)
            continue
        questions.extend(_joined_questions(text, start, end))
    return questions


def _joined_questions(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    """The sentence `text[start:end]` cut where "and", "plus", a comma or a number joins
    one question to the next: both sides start like a question and have
    MIN_SENTENCE_WORDS words. Not after a comparison ("the difference between the block
    and what the shot does"), whose "and" joins two things asked about together; not
    between the halves of "which one ... and which one ...?"; and a comma or a number not
    after a condition, "which ..." or "what about ..." (`_LEADS_IN`)."""
    joins = sorted(
        [(join, False) for join in _JOINS_QUESTION.finditer(text, start, end)]
        + [(join, True) for join in _COMMA_JOINS_QUESTION.finditer(text, start, end)],
        key=lambda found: found[0].start(),
    )
    spans, at = [], start
    for join, comma_only in joins:
        if join.start() < at:
            continue
        first, rest = text[at : join.start()], text[join.end() : end]
        if (
            _ASKS.match(first)
            and not (comma_only and _LEADS_IN.search(first))
            and not _COMPARES.search(first)
            and not (_PAIRED.match(first) and _PAIRED.match(rest))
            and len(first.split()) >= MIN_SENTENCE_WORDS
            and len(rest.split()) >= MIN_SENTENCE_WORDS
        ):
            spans.append((at, join.start()))
            at = join.end()
    return spans + [(at, end)]


def question_of(text: str, min_words: int, standalone_words: int) -> Optional[str]:
    """The question's text (see `question_span`), or None for a message read whole."""
    span = question_span(text, min_words, standalone_words)
    return None if span is None else text[span[0] : span[1]]
