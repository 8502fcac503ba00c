"""The answer planner's decisions, on real sentence vectors and the real fact store."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.gibberish import is_gibberish, too_short
from bot.nlu.planner import (
    AnswerPlanner,
    ExampleIndex,
    FactIndex,
    PlannerSettings,
    limit_blas_threads,
)

EXAMPLES = {
    "ask_pain": ["does it hurt", "is the shot painful", "will the block be sore"],
    "ask_duration": ["how long does relief last", "when will it wear off"],
    "ask_uncovered": [
        "how thick is the needle",
        "which steroid brand do they use",
        "what gauge needle is it",
        "how many millimetres long is the needle",
    ],
    "greet": ["hello there", "hi"],
}


@pytest.fixture(scope="module")
def planner(encoder, store):
    texts = [text for texts in EXAMPLES.values() for text in texts]
    intents = [intent for intent, texts in EXAMPLES.items() for _ in texts]
    examples = ExampleIndex(encoder.encode(texts), intents)
    return AnswerPlanner(examples, FactIndex(store, encoder.encode), PlannerSettings())


def plan(planner, encoder, text, ranking):
    vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
    return planner.plan(vector, ranking, neutral)


def test_a_matching_question_keeps_its_intent_and_gets_its_fact(planner, encoder) -> None:
    result = plan(
        planner, encoder, "Is the injection painful?", [{"name": "ask_pain", "confidence": 0.8}]
    )
    assert result.intent == "ask_pain" and result.facts == ("pain_during",)


def test_a_specific_the_articles_lack_is_not_covered(planner, encoder) -> None:
    ranking = [{"name": "ask_imaging", "confidence": 0.95}]
    result = plan(planner, encoder, "How thick is the needle they use?", ranking)
    assert result.intent == "ask_uncovered" and result.reason == "not covered"


def test_a_plain_topic_question_the_classifier_doubted_is_covered_after_all(
    planner, encoder
) -> None:
    ranking = [
        {"name": "ask_uncovered", "confidence": 0.75},
        {"name": "ask_imaging", "confidence": 0.2},
    ]
    text = "do they use x-ray to guide the needle"
    vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
    result = planner.plan(vector, ranking, neutral, text)
    assert result.intent == "ask_imaging" and result.reason == "covered after all"
    # Not when DIET's runner-up is another topic, nor when a not-covered subject is named.
    other = [ranking[0], {"name": "ask_pain", "confidence": 0.2}]
    assert planner.plan(vector, other, neutral, text).intent == "ask_uncovered"
    sedated = "do they use x-ray to guide the needle while i am sedated"
    vector, neutral = encoder.encode([sedated, planner.facts.neutral(sedated)])
    assert planner.plan(vector, ranking, neutral, sedated).intent == "ask_uncovered"


def test_an_unsure_not_covered_with_a_close_fact_is_covered_after_all(planner, encoder) -> None:
    """DIET unsure (below `weak_confidence`) that a comparison is not covered, a fact as
    close as an unsure guess may move to, and no uncovered subject: that fact's topic."""
    text = "are facet joint injections and medial branch blocks both done as outpatients?"
    vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
    unsure = [{"name": "ask_uncovered", "confidence": 0.4}]
    result = planner.plan(vector, unsure, neutral, text)
    assert result.intent == "ask_recovery" and result.reason == "covered after all"
    assert "recovery_outpatient" in result.facts
    sure = [{"name": "ask_uncovered", "confidence": 0.95}]
    assert planner.plan(vector, sure, neutral, text).intent == "ask_uncovered"
    sedated = text + " and are you sedated?"
    vector, neutral = encoder.encode([sedated, planner.facts.neutral(sedated)])
    assert planner.plan(vector, unsure, neutral, sedated).intent == "ask_uncovered"


def test_a_close_fact_of_another_topic_moves_the_question(planner, encoder) -> None:
    ranking = [{"name": "ask_what_is", "confidence": 0.6}]
    result = plan(planner, encoder, "Is a medial branch block an outpatient procedure?", ranking)
    assert result.intent == "ask_recovery" and result.reason == "fact match"
    assert "recovery_outpatient" in result.facts


def test_a_sure_classifier_keeps_its_topic_against_a_closer_fact(planner, encoder) -> None:
    """The same question as above, with DIET all but certain of its topic."""
    ranking = [{"name": "ask_what_is", "confidence": 0.99}]
    result = plan(planner, encoder, "Is a medial branch block an outpatient procedure?", ranking)
    assert result.intent == "ask_what_is"


def test_procedure_names_are_set_aside_for_fact_matching(planner) -> None:
    neutral = planner.facts.neutral("Does the Nerve Block hurt more than a facet shot?")
    assert neutral == "Does it hurt more than it?"


def test_nobody_sure_means_fallback(planner, encoder) -> None:
    result = plan(planner, encoder, "banana telescope", [{"name": "greet", "confidence": 0.1}])
    assert result.intent == "nlu_fallback"


def test_a_general_question_gets_every_fact_of_its_topic(planner, encoder) -> None:
    ranking = [{"name": "ask_difference", "confidence": 0.9}]
    result = plan(planner, encoder, "tell me about these two", ranking)
    assert result.intent == "ask_difference" and result.facts == ()


def test_a_question_as_close_to_its_topics_own_question_gets_the_whole_topic(
    planner, encoder
) -> None:
    """ "How is X different from Y?" sounds like "are they the same thing?" (one fact's
    phrasing) but as much like the topic's own question: every fact answers it. A
    question about one part of the topic still gets that part."""
    ranking = [{"name": "ask_difference", "confidence": 0.9}]
    text = "How is the nerve block different from the joint injection?"
    result = plan(planner, encoder, text, ranking)
    assert result.facts == () and result.reason == "whole topic"
    narrow = plan(planner, encoder, "what do the two of them have in common?", ranking)
    assert narrow.facts == ("difference_in_common",)


def test_keyboard_mash_is_not_a_question(store) -> None:
    known = list(store.alias_table())
    assert is_gibberish("asdfgh jkl qwerty uiop", known)
    assert not is_gibberish("wht is radiofrequncy ablaton", known)
    assert not is_gibberish("mbb vs fji?", known)
    assert not is_gibberish("ok", known)


def test_stretched_greetings_are_words_and_repeated_letters_are_not(store) -> None:
    known = list(store.alias_table())
    for text in ("heyyy u thereee", "hiii anybody home", "yo whats good", "hellooo thereee"):
        assert not is_gibberish(text, known), text
    for text in ("qqqq zzzz", "hhhhhh jjjjjj", "blorp zibble qqq", "zzzzzz qqqww ;;; mmmp"):
        assert is_gibberish(text, known), text


def test_settings_come_from_the_component_config() -> None:
    settings = PlannerSettings.from_config({"fallback_threshold": 0.4, "unknown": 1})
    assert settings.fallback_threshold == 0.4
    assert isinstance(np.float32(settings.fact_match), np.floating)


def test_a_lone_letter_is_too_short_to_classify() -> None:
    for text in ("a", " k. ", "?", "🙂", "i?"):
        assert too_short(text), text
    for text in ("hi", "ok", "2", "rfa?", "a b"):
        assert not too_short(text), text


def test_the_planner_runs_numpys_blas_on_one_thread() -> None:
    """Idle OpenBLAS threads spin between calls and took a core from the action server."""
    from threadpoolctl import threadpool_info

    limit_blas_threads()
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy has no BLAS pool to limit"
    assert all(pool["num_threads"] == 1 for pool in blas)


def test_a_question_about_another_subject_is_out_of_scope(planner, encoder) -> None:
    """`other_subjects` in data/facts.yml: another treatment, a named painkiller."""
    ranking = [{"name": "ask_recovery", "confidence": 0.9}]
    text = "what is recovery like after a lumbar fusion?"
    vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
    result = planner.plan(vector, ranking, neutral, text, other_subject_only=True)
    assert result.intent == "out_of_scope" and result.reason == "other subject"
    # Naming a procedure keeps the question in scope ("after my fusion, can I have RFA?").
    assert planner.plan(vector, ranking, neutral, text).intent == "ask_recovery"
    # Greetings and thanks are not questions about a subject.
    greeting = [{"name": "greet", "confidence": 0.9}]
    thanks = planner.plan(vector, greeting, neutral, text, other_subject_only=True)
    assert thanks.intent == "greet"


def test_an_unsure_guess_moves_to_a_clearly_closer_topic(planner, encoder) -> None:
    """A comparison's wording can drown its topic words; the facts still tell the topic."""
    text = "side effects of the facet shot vs the nerve block - same or different?"
    vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
    unsure = [{"name": "ask_duration", "confidence": 0.39}]
    result = planner.plan(vector, unsure, neutral, text)
    assert result.intent == "ask_side_effects" and result.reason == "fact match"
    # A sure classifier keeps its topic unless the match is close (retopic_similarity).
    sure = [{"name": "ask_duration", "confidence": 0.95}]
    assert planner.plan(vector, sure, neutral, text).intent == "ask_duration"


def test_a_fact_said_only_when_asked_does_not_pull_an_unsure_guess(planner, encoder) -> None:
    """ "Both use numbing medicine; only the injection has a steroid" answers questions
    asked about exactly that; loosely, it would draw in any comparison of the two."""
    text = "do the injection and the block do the same job?"
    vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
    fact, similarity = max(planner.facts.similarities(neutral), key=lambda pair: pair[1])
    settings = planner.settings
    assert fact.id == "medication_shared" and fact.only_when_asked
    assert settings.weak_retopic_similarity <= similarity < settings.retopic_similarity
    # An unsure guess at a topic far from it (insurance) stays: no loose move.
    unsure = [{"name": "ask_insurance", "confidence": 0.5}]
    result = planner.plan(vector, unsure, neutral, text)
    assert result.intent == "ask_insurance" and result.reason == "facts"


def test_names_the_extractor_found_are_set_aside_like_aliases(planner) -> None:
    """ "The medial branch one" is no alias, but the entity extractor names it: left in,
    its words pulled a duration question to the medial branch nerves."""
    text = "why does the facet joint shot last longer than the medial branch one"
    start = text.index("the medial branch one")
    neutral = planner.facts.neutral(text, [(start + len("the "), len(text))])
    assert neutral == "why does it last longer than it"
    # Aliases alone leave the description in.
    assert "medial branch one" in planner.facts.neutral(text)


def test_the_planner_reads_entity_spans_within_a_long_messages_question() -> None:
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.components import QUESTION_KEY, _names_in

    story = "My back has hurt for years and nothing helps. "
    question = "Does the nerve one hurt more than the joint shot?"
    text = story + question
    entities = [
        {"entity": "procedure", "value": "mbb", "start": text.index("nerve one"), "end": 0},
        {"entity": "procedure", "value": "fji", "start": text.index("joint shot"), "end": 0},
        {"entity": "other", "value": "x", "start": 0, "end": 7},
    ]
    for entity, words in zip(entities, ("nerve one", "joint shot", "My back"), strict=True):
        entity["end"] = entity["start"] + len(words)
    message = Message(data={"text": text, QUESTION_KEY: question, "entities": entities})
    spans = _names_in(message, question)
    assert [question[start:end] for start, end in spans] == ["nerve one", "joint shot"]
    assert _names_in(message, "not in the message") == []


def test_a_spine_topic_heard_only_in_a_procedures_name_gives_way(planner, encoder) -> None:
    """ "Facet joint" inside "facet joint injection" makes a question sound like one about
    the joints themselves; with the names set aside it is not, and DIET's next guess wins.
    A question that does ask about the joints keeps its topic."""
    ranking = [
        {"name": "ask_facet_joints", "confidence": 0.6},
        {"name": "ask_which_procedure", "confidence": 0.3},
    ]
    text = "facet joint injection or medial branch block, which do they start with?"
    assert plan(planner, encoder, text, ranking).intent not in ("ask_facet_joints", "nlu_fallback")
    asks_the_joints = "what are the facet joints that the facet joint injection goes into?"
    assert plan(planner, encoder, asks_the_joints, ranking).intent == "ask_facet_joints"


def test_a_personal_question_close_to_a_fact_gets_it(planner, encoder) -> None:
    """ "Sore where the needle went in, two days on: should I worry?" read as personal is
    answered from the soreness fact (the responder says first that the decision is the
    care team's); one far from any fact stays personal."""
    personal = [{"name": "ask_personal_advice", "confidence": 0.9}]

    def planned(text: str):
        vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
        return planner.plan(vector, personal, neutral, text)

    result = planned(
        "is it normal to be a bit sore where the needle went in for a day or two after?"
    )
    assert result.intent == "ask_side_effects" and result.reason == "personal, fact match"
    assert "side_effects_soreness" in result.facts
    # Far from any fact, or a bare decision with no story: personal.
    assert planned("should I go ahead with it next month or wait?").intent == "ask_personal_advice"
    assert planned("should i get the injection").intent == "ask_personal_advice"


def test_an_unread_question_about_the_patients_own_decision_goes_to_the_care_team(
    planner, encoder
) -> None:
    """Below the fallback bar, a message asking the patient's own decision ("can I still
    do the facet joint injection?", `personal_cues`) goes to the care team, not back to
    the patient to rephrase; one asking nothing of the kind still falls back."""
    unread = [{"name": "ask_purpose", "confidence": 0.05}]

    def planned(text: str):
        vector, neutral = encoder.encode([text, planner.facts.neutral(text)])
        return planner.plan(vector, unread, neutral, text)

    result = planned("I had chest pain last month but was cleared. Can I still do the injection?")
    assert result.intent == "ask_personal_advice" and result.reason == "personal cue"
    assert planned("blorp the zingle wham").intent == "nlu_fallback"
