"""bot/nlu/context.py: a short question pointing back is read with the previous one, and
only its intent and facts come from that reading."""

from __future__ import annotations

from typing import Any, Dict, List

from bot.nlu import context

TOPICS = frozenset({"ask_insurance", "ask_why_two_blocks", "ask_pain"})


def parse(intent: str, confidence: float, **extra: Any) -> Dict[str, Any]:
    return {
        "text": "message",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [],
        **extra,
    }


def test_a_short_question_pointing_back_is_joined_to_the_previous_one() -> None:
    joined = context.text_in_context("Is the block covered by insurance?", "does that change?")
    assert joined == "Is the block covered by insurance, does that change?"


def test_a_question_that_only_goes_on_from_the_previous_one_is_joined_too() -> None:
    before = "How does the doctor pick between the two?"
    for current in (
        "like what factors?",
        "and such as?",
        "what else?",
        "Any other reasons?",
        "what factors?",
        "which things",
        "why?",
        "but how come?",
    ):
        assert context.text_in_context(before, current) == f"{before[:-1]}, {current}"
    assert context.text_in_context(before, "likewise for recovery time?") is None
    # A bare "what ...s?" is elliptical only when nothing follows the noun.
    assert context.text_in_context(before, "what factors matter most for recovery?") is None


def test_a_question_that_stands_alone_or_has_nothing_before_is_read_alone() -> None:
    assert context.text_in_context("Is the block covered?", "how long is recovery?") is None
    assert context.text_in_context(None, "does that change?") is None
    assert context.text_in_context("   ", "does that change?") is None
    long_one = "and would that be different if I had the other one done on both sides"
    assert len(long_one.split()) >= context.CONTEXT_WORDS
    assert context.text_in_context("Is the block covered?", long_one) is None


def test_an_unsure_topic_gives_way_to_the_reading_in_context() -> None:
    own = parse("ask_pain", 0.4, red_flag={"status": "none"}, question_text=None)
    in_context = parse("ask_insurance", 0.9, answer_plan={"facts": ["insurance_two"]})
    in_context["red_flag"] = {"status": "present"}
    result = context.merged(own, in_context, TOPICS)
    assert result["intent"] == {"name": "ask_insurance", "confidence": 0.9}
    assert result["intent_ranking"] == in_context["intent_ranking"]
    assert result["answer_plan"] == {"facts": ["insurance_two"]}
    assert result[context.READ_IN_CONTEXT] is True
    # A warning sign of the previous message never comes along: the summary is this one's.
    assert result["red_flag"] == {"status": "none"}
    assert result["text"] == "message" and result["entities"] == []


def test_the_fallback_not_covered_and_tell_me_more_may_give_way_too() -> None:
    for intent in ("nlu_fallback", "ask_uncovered", "ask_more"):
        assert context.may_replace(parse(intent, 0.2), TOPICS)
    # A sure "tell me more" gives way only when no answer came before to explain.
    sure_more = parse("ask_more", 0.97)
    assert not context.may_replace(sure_more, TOPICS)
    assert context.may_replace(sure_more, TOPICS, nothing_to_explain=True)
    assert not context.may_replace(parse("ask_pain", 0.9), TOPICS, nothing_to_explain=True)


def test_a_sure_reading_a_named_procedure_or_another_kind_keeps_its_own() -> None:
    in_context = parse("ask_insurance", 0.9)
    sure = parse("ask_pain", context.UNSURE_BELOW)
    named = parse("ask_pain", 0.3, entities=[{"entity": "procedure", "value": "mbb"}])
    kinds: List[Dict[str, Any]] = [
        parse(intent, 0.3)
        for intent in ("ask_follow_up", "red_flag", "greet", "ask_personal_advice", "thanks")
    ]
    # A guess with a fact said almost word for word ("so is it surgery?": outpatient),
    # at the store's bar.
    worded = parse("ask_pain", 0.3, answer_plan={"best_fact_similarity": 0.95})
    loose = parse("ask_pain", 0.3, answer_plan={"best_fact_similarity": 0.7})
    assert context.may_replace(loose, TOPICS, says_a_fact_at=0.9)
    assert not context.may_replace(worded, TOPICS, says_a_fact_at=0.9)
    assert context.merged(worded, in_context, TOPICS, says_a_fact_at=0.9) == worded
    # Personal only by a cue in a message the classifier could not read: unsure too.
    cue = parse("ask_personal_advice", 0.1, answer_plan={"reason": "personal cue"})
    assert context.may_replace(cue, TOPICS)
    for own in [sure, named, *kinds]:
        assert not context.may_replace(own, TOPICS)
        assert context.merged(own, in_context, TOPICS) == own


def test_only_a_topic_or_not_covered_reading_in_context_is_taken() -> None:
    own = parse("ask_pain", 0.3)
    for intent in ("red_flag", "greet", "ask_more", "out_of_scope", "nlu_fallback"):
        assert context.merged(own, parse(intent, 0.9), TOPICS) == own
    taken = context.merged(own, parse("ask_uncovered", 0.9), TOPICS)
    assert taken["intent"]["name"] == "ask_uncovered"
