"""The fact store: the real file's schema and coverage, and broken files in tmp_path."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from bot.core import answers
from bot.core.facts import FactStoreError, ReloadingFactStore, load_fact_store
from bot.core.paths import FACTS_FILE, PROJECT_ROOT
from tests.conftest import write
from tests.readability import grade_level

GOOD_STORE = """
version: 1
sources:
  art:
    title: An Article
    sections: [Intro, FAQ]
procedures:
  fji:
    name: facet joint injection
    short: FJI
    aliases: [facet shot]
topics:
  pain:
    intent: ask_pain
    question: Does it hurt?
    follow_ups: [what_is]
  what_is:
    intent: ask_what_is
    question: What is it?
facts:
  - id: fji_pain
    topic: pain
    procedures: [fji]
    answer: A short plain answer.
    source: {article: art, section: FAQ}
  - id: fji_what
    topic: what_is
    procedures: [fji]
    answer: Another plain answer.
    source: {article: art, section: Intro}
"""


def test_good_fixture_loads(tmp_path: Path) -> None:
    store = load_fact_store(write(tmp_path, "facts.yml", GOOD_STORE))
    assert [fact.id for fact in store.facts_for("pain")] == ["fji_pain"]
    assert store.topic_for_intent("ask_pain").id == "pain"
    assert store.alias_table()["facet shot"] == "fji"
    # No short title given: the full one is used where a short one is wanted (SMS).
    assert store.sources["art"].short_title == "An Article"
    shortened = GOOD_STORE.replace("title: An Article", "title: An Article\n    short_title: Art")
    reloaded = load_fact_store(write(tmp_path, "short.yml", shortened))
    assert reloaded.sources["art"].short_title == "Art"


@pytest.mark.parametrize(
    "old, new, where, field_name",
    [
        ("answer: A short plain answer.", "answer: ''", "fact 'fji_pain'", "answer"),
        (
            "topic: pain\n    procedures: [fji]\n    answer: A short",
            "topic: nope\n    procedures: [fji]\n    answer: A short",
            "fact 'fji_pain'",
            "topic",
        ),
        ("section: FAQ}", "section: Missing}", "fact 'fji_pain'", "source.section"),
        (
            "{article: art, section: FAQ}",
            "{article: other, section: FAQ}",
            "fact 'fji_pain'",
            "source.article",
        ),
        (
            "procedures: [fji]\n    answer: A short",
            "procedures: [xyz]\n    answer: A short",
            "fact 'fji_pain'",
            "procedures",
        ),
        ("id: fji_what", "id: fji_pain", "fact 'fji_pain'", "id"),
        (
            "procedures: [fji]\n    answer: A short",
            "procedures: [fji, general]\n    answer: A short",
            "fact 'fji_pain'",
            "procedures",
        ),
        ("follow_ups: [what_is]", "follow_ups: [nowhere]", "topic 'pain'", "follow_ups"),
        ("aliases: [facet shot]", "aliases: []", "procedure 'fji'", "aliases"),
        (
            "aliases: [facet shot]",
            "aliases: [facet shot]\n    descriptions: [[]]",
            "procedure 'fji'",
            "descriptions",
        ),
        (
            "aliases: [facet shot]",
            "aliases: [facet shot]\n    descriptions: [[shot]]",
            "procedure 'fji'",
            "descriptions",
        ),
        (
            "aliases: [facet shot]",
            "aliases: [facet shot]\n    descriptions: [[{LOWER: {IN: [shot, on]}}]]",
            "procedure 'fji'",
            "descriptions",
        ),
        # A fact may only need another fact of its own topic.
        (
            "answer: A short plain answer.",
            "answer: A short plain answer.\n    needs: [fji_what]",
            "fact 'fji_pain'",
            "needs",
        ),
        (
            "answer: A short plain answer.",
            "answer: A short plain answer.\n    needs: [fji_pain]",
            "fact 'fji_pain'",
            "needs",
        ),
    ],
)
def test_broken_fixture_names_file_entry_and_field(
    tmp_path: Path, old: str, new: str, where: str, field_name: str
) -> None:
    assert old in GOOD_STORE
    path = write(tmp_path, "broken.yml", GOOD_STORE.replace(old, new, 1))
    with pytest.raises(FactStoreError) as caught:
        load_fact_store(path)
    message = str(caught.value)
    assert str(path) in message
    assert where in message
    assert f"field '{field_name}'" in message


@pytest.mark.parametrize(
    "block, field_name",
    [
        ("pointing_back:\n  words: []\n  unless_word_starts: [reli]\n", "words"),
        ("pointing_back:\n  words: [that]\n", "unless_word_starts"),
    ],
)
def test_broken_pointing_back_names_its_field(tmp_path: Path, block: str, field_name: str) -> None:
    path = write(tmp_path, "broken.yml", GOOD_STORE + "\n" + block)
    with pytest.raises(FactStoreError) as caught:
        load_fact_store(path)
    assert "pointing_back" in str(caught.value) and f"field '{field_name}'" in str(caught.value)


def test_pointing_back_words_come_from_the_data(tmp_path: Path) -> None:
    """The cue words live in the store: without them nothing points back; with them,
    a listed word does unless another word starts with an exception."""
    topic = "question: What is it?"
    pointing = GOOD_STORE.replace(topic, topic + "\n    points_back_for: [ask_pain]")
    plain = load_fact_store(write(tmp_path, "plain.yml", pointing))
    assert not plain.points_back("does that hurt?", "ask_pain", "what_is")
    cues = "pointing_back:\n  words: [that]\n  unless_word_starts: [reli]\n"
    store = load_fact_store(write(tmp_path, "cues.yml", pointing + cues))
    assert store.points_back("does that hurt?", "ask_pain", "what_is")
    assert not store.points_back("does this hurt?", "ask_pain", "what_is")
    assert not store.points_back("does that hurt after relief?", "ask_pain", "what_is")
    assert not store.points_back("does that hurt?", "ask_pain", "pain")
    bare = load_fact_store(
        write(tmp_path, "bare.yml", pointing + cues + "  bare_words: [how, much, tho]\n")
    )
    assert bare.points_back("how much tho?", "ask_pain", "what_is")
    assert not bare.points_back("how much does it hurt tho?", "ask_pain", "what_is")
    assert not store.points_back("how much tho?", "ask_pain", "what_is")


def test_an_unsure_guess_right_after_an_answer_leans_to_its_topics(store) -> None:
    """`context_prior`: the last topic, or one it offers next, ranked high enough wins
    over an unsure guess at an unrelated topic; a sure guess or a non-topic stays."""
    prior = store.context_prior
    unsure, low = prior.below_confidence - 0.2, prior.runner_up_at_least
    ranking = [
        {"name": "ask_facet_joints", "confidence": unsure},
        {"name": "ask_pain", "confidence": 0.5},
        {"name": "ask_medial_branch_nerves", "confidence": low},
    ]
    assert store.intent_in_context(ranking, "medial_branch_nerves") == "ask_medial_branch_nerves"
    # A topic the last answer offers next counts (medial_branch_nerves offers next_steps).
    offered = [ranking[0], {"name": "ask_next_steps", "confidence": low}]
    assert store.intent_in_context(offered, "medial_branch_nerves") == "ask_next_steps"
    assert store.intent_in_context(ranking, None) == "ask_facet_joints"
    too_low = [ranking[0], {"name": "ask_medial_branch_nerves", "confidence": low / 2}]
    assert store.intent_in_context(too_low, "medial_branch_nerves") == "ask_facet_joints"
    sure = [{"name": "ask_facet_joints", "confidence": prior.below_confidence}] + ranking[1:]
    assert store.intent_in_context(sure, "medial_branch_nerves") == "ask_facet_joints"
    personal = [{"name": "ask_personal_advice", "confidence": unsure}] + ranking[1:]
    assert store.intent_in_context(personal, "medial_branch_nerves") == "ask_personal_advice"
    # A guess whose fact says what was asked almost word for word stays.
    worded = prior.unless_fact_at_least
    assert store.intent_in_context(ranking, "medial_branch_nerves", worded) == "ask_facet_joints"
    below = worded - 0.1
    assert store.intent_in_context(ranking, "medial_branch_nerves", below) != "ask_facet_joints"


def test_ordinal_cues_pick_from_the_procedures_compared_in_order(store) -> None:
    assert store.procedure_in_place("the first one, does it hurt?", ["mbb", "fji"]) == "mbb"
    assert store.procedure_in_place("and the latter?", ["mbb", "fji", "rfa"]) == "rfa"
    assert store.procedure_in_place("the 2nd one, is it a test", ["rfa", "fji"]) == "fji"
    # With fewer than two compared there is no order; "the first block" is a block.
    assert store.procedure_in_place("the first one?", ["mbb"]) is None
    assert store.procedure_in_place("why is the first block not enough?", ["mbb", "fji"]) is None


def test_ordinal_cues_name_only_known_places(tmp_path: Path) -> None:
    block = "ordinal_cues:\n  third: [the third one]\n"
    with pytest.raises(FactStoreError, match="third"):
        load_fact_store(write(tmp_path, "broken.yml", GOOD_STORE + "\n" + block))


@pytest.mark.parametrize("value", ["high", 1.5, -0.1, True])
def test_context_prior_numbers_are_shares(tmp_path: Path, value) -> None:
    block = f"context_prior:\n  below_confidence: {value}\n  runner_up_at_least: 0.1\n"
    with pytest.raises(FactStoreError, match="below_confidence"):
        load_fact_store(write(tmp_path, "broken.yml", GOOD_STORE + "\n" + block))


def test_invalid_yaml_and_missing_file_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FactStoreError, match="not valid YAML"):
        load_fact_store(write(tmp_path, "bad.yml", "facts: [unclosed"))
    with pytest.raises(FactStoreError, match="cannot be read"):
        load_fact_store(tmp_path / "absent.yml")


def test_reloading_store_picks_up_edits_and_keeps_last_good(tmp_path: Path) -> None:
    path = write(tmp_path, "facts.yml", GOOD_STORE)
    loader = ReloadingFactStore(path)
    assert loader.get().fact("fji_pain").answer == "A short plain answer."

    def edit(text: str, second: int) -> None:
        # A distinct modification time per edit, however fast the file system clock ticks.
        write(tmp_path, "facts.yml", text)
        os.utime(path, ns=(second * 10**9, second * 10**9))

    edited = GOOD_STORE.replace("A short plain answer.", "Edited answer.")
    edit(edited, 1)
    assert loader.get().fact("fji_pain").answer == "Edited answer."
    edit(edited.replace("answer: Edited answer.", "answer: ''"), 2)  # fails the schema
    assert loader.get().fact("fji_pain").answer == "Edited answer."
    edit("facts: [broken", 3)  # not YAML
    assert loader.get().fact("fji_pain").answer == "Edited answer."
    edit(GOOD_STORE.replace("A short plain answer.", "Fixed answer."), 4)
    assert loader.get().fact("fji_pain").answer == "Fixed answer."


# --- the real store -------------------------------------------------------------


def test_a_button_question_names_its_topic_whatever_its_case_and_punctuation(store) -> None:
    for topic in store.topics.values():
        assert store.topic_for_question(topic.question) is topic
        assert store.topic_for_question(f"  {topic.question.upper().rstrip('?')} ") is topic
    assert store.topic_for_question("does it hurt a lot?") is None
    assert store.topic_for_question("") is None


def test_real_store_loads(store) -> None:
    assert len(store.facts) >= 30
    assert set(store.procedures) == {"fji", "mbb", "rfa"}


def test_every_source_section_has_a_fact(store) -> None:
    for source in store.sources.values():
        for section in source.sections:
            cited = [f.id for f in store.facts if f.article == source.id and f.section == section]
            assert cited, f"no fact cites '{source.title}' section '{section}'"


def test_source_sections_are_real_headings(store, articles) -> None:
    """Every cited section exists in its article (Introduction/Disclaimer are unheaded parts)."""
    for source in store.sources.values():
        raw = yaml.safe_load(FACTS_FILE.read_text())["sources"][source.id]
        text = articles[raw["file"]].replace("\u2019", "'")
        assert source.title in text
        for section in source.sections:
            if section in ("Introduction", "Disclaimer"):
                continue
            assert section in text, f"{section!r} is not a heading of {raw['file']}"


def _sentences(text: str) -> list:
    return [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 5]


# Proper names may be repeated; they are not the articles' sentences.
PROPER_NAMES = ("national institute of arthritis and musculoskeletal and skin diseases",)


def _shingles(text: str, size: int = 8) -> set:
    text = text.lower()
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    words = re.findall(r"[a-z0-9']+", text)
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def test_no_sentence_is_copied_from_the_articles(store, articles) -> None:
    article_shingles = set().union(*(_shingles(text) for text in articles.values()))
    article_sentences = set().union(*(_sentences(text) for text in articles.values()))
    for fact in store.facts:
        assert not set(_sentences(fact.answer)) & article_sentences, fact.id
        copied = _shingles(fact.answer) & article_shingles
        assert not copied, f"{fact.id} repeats the article word for word: {sorted(copied)[:2]}"


def test_answers_are_plain_language(store) -> None:
    grades = {fact.id: grade_level(fact.answer) for fact in store.facts}
    mean = sum(grades.values()) / len(grades)
    assert mean <= 8.0, f"mean grade {mean:.1f}"
    too_hard = {k: round(v, 1) for k, v in grades.items() if v > 10}
    assert not too_hard


def test_every_topic_intent_is_in_the_domain_and_nlu(store, domain) -> None:
    nlu = yaml.safe_load((PROJECT_ROOT / "data" / "nlu.yml").read_text())
    trained = {item["intent"] for item in nlu["nlu"] if "intent" in item}
    for topic in store.topics.values():
        if topic.intent:
            assert topic.intent in domain["intents"], topic.intent
            assert topic.intent in trained, topic.intent
    asked = {i for i in domain["intents"] if i.startswith("ask_")}
    answered = {t.intent for t in store.topics.values() if t.intent}
    special = {"ask_personal_advice", "ask_uncovered", "ask_follow_up", "ask_more"}
    assert asked - special == answered


def test_every_topic_offers_between_one_and_three_follow_ups(store) -> None:
    for topic in store.topics.values():
        assert 1 <= len(topic.follow_ups) <= 3, topic.id


def test_no_fact_claims_its_topics_own_question(store) -> None:
    """A topic's button question asks for the whole topic: no single fact may own it,
    or the answer planner would answer the button with that fact alone."""

    def norm(text: str) -> str:
        return " ".join(text.lower().split()).rstrip("?")

    for fact in store.facts:
        if len(store.facts_for(fact.topic)) < 2:
            continue
        own = norm(store.topics[fact.topic].question)
        assert all(norm(q) != own for q in fact.questions), fact.id


def test_topic_limits_never_read_like_a_not_covered_answer(store, settings) -> None:
    """A topic's caveat sits under a real answer: it must not use the words that mark a
    refusal ("the articles don't cover ..."), or a patient skimming it thinks the question
    went unanswered."""
    refusal = answers.answer_uncovered(store, settings).text
    assert "don't cover" in refusal
    for topic in store.topics.values():
        if topic.limits:
            assert "don't cover" not in topic.limits, topic.id


def test_uncovered_medicine_names_and_doses(store) -> None:
    for question in (
        "what's the name of the steroid in the joint shot?",
        "which anesthetic do they use for the block",
        "is the steroid kenalog or depo-medrol?",
        "how many mg of steroid go in",
    ):
        subject = store.uncovered_subject(question)
        assert subject is not None and subject.id == "medicine_names", question
    # The medicine topic itself and the name "cortisone shot" are not that subject.
    for question in (
        "what medicine is in a facet injection?",
        "how long does a cortisone shot last",
    ):
        assert store.uncovered_subject(question) is None, question


def test_other_subjects_name_treatments_the_articles_never_discuss(store) -> None:
    for question, subject in (
        ("what is kyphoplasty and who is it for?", "vertebral_fracture_procedures"),
        ("is gabapentin better than lyrica", "nerve_and_muscle_medicines"),
        ("I'm getting an epidural for labor", "epidural_injections"),
        ("would a knee injection help my arthritis", "other_joints_body_parts"),
    ):
        found = store.other_subject(question)
        assert found is not None and found.id == subject, question
    # Words the articles use are never another subject.
    for question in (
        "does a facet joint injection hurt",
        "what if the nerve block doesn't help, could it be my disc",
        "do they use x-ray to guide the needle",
        "is the steroid shot in my neck covered by insurance",
        "my facet pain spreads into my hip and shoulder",
        "does RFA burn the nerve",
        # What the patient tried before is their story (`tried_cues`).
        "what if I've already tried physical therapy and pills and nothing worked?",
        "I did months of physio, does that matter?",
    ):
        assert store.other_subject(question) is None, question
    asked = store.other_subject("can I do physical therapy after it?")
    assert asked is not None and asked.id == "manual_alternative_therapies"
