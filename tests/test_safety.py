"""The red-flag layer's parts: loading the data, the verdict policy, reload on change.

The blind suite (tests/test_red_flag_suite.py) measures recall and false alarms; these
tests pin the mechanisms with the project's own examples, one per behaviour.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core import safety
from bot.core.paths import SAFETY_CONTEXT_FILE, SAFETY_FILE
from bot.core.reloading import Reloading
from bot.core.safety import Detector, SafetyRulesError, load_safety_rules
from tests.conftest import write


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_safety_rules())


@pytest.mark.parametrize(
    "text, urgency, concept",
    [
        ("I can't control my bladder since the injection", "emergency", "incontinence"),
        ("my private area feels asleep", "emergency", "saddle_numbness"),
        ("my legs feel numb and weak after the RFA, is that normal?", "emergency", "leg_weakness"),
        ("my foot keeps dragging and catching on the floor", "emergency", "foot_drop"),
        (
            "since lunch my legs have been sort of sleeping and little by little getting weaker",
            "emergency",
            "leg_weakness",
        ),
        ("i can barely get up the steps to my flat today", "emergency", "leg_weakness"),
        ("last night I left a farewell letter on the kitchen table", "crisis", "self_harm"),
        ("honestly I'm in a really dark place since the second block", "crisis", "self_harm"),
        ("I have a fever and the injection site is red and swollen", "infection", "infection"),
        ("tight chest, hard to get air", "emergency", "chest_breathing"),
        ("I don't see the point of going on", "crisis", "self_harm"),
        ("I've been saving up my pills to take tonight", "crisis", "self_harm"),
        ("chest pain and i want to die", "crisis", "self_harm"),
        ("they said it was a seizure, and my face is drooping on one side", "emergency", "stroke"),
        ("these new tablets make me black out, I just fainted again", "emergency", "fainting"),
        # A sentence opening in the past that turns to today is present.
        (
            "Back in 2019 I had surgery and today my legs are giving out",
            "emergency",
            "leg_weakness",
        ),
    ],
)
def test_present_signs_alarm_with_the_right_urgency(detector, text, urgency, concept) -> None:
    verdict = detector.assess(text)
    assert verdict.status == safety.PRESENT
    assert verdict.urgency == urgency
    assert concept in verdict.concepts(safety.PRESENT)


def test_a_drugs_known_effect_is_no_warning_sign(detector) -> None:
    verdict = detector.assess("the pain pills make me foggy, does the block need pills?")
    assert verdict.findings == ()


@pytest.mark.parametrize(
    "text, reason",
    [
        ("no fever, no numbness - how long is recovery?", "negated"),
        ("I had a fever last winter, is that a problem?", "past"),
        ("my dad lost feeling in his legs years ago", "other person"),
        ("both legs went numb after the block but it wore off in a few hours", "resolved"),
        ("my wife's foot drags a little because of her MS", "other person"),
        ("I keep the site clean so it doesn't get infected", "hypothetical"),
        ("needles scare me, I pass out at blood tests", "chronic"),
        ("my nan went numb on one side and it was a stroke, so numbness worries me", "past"),
        ("mum's shot in 2019 gave her a fever, it was an infection, she is fine now", "resolved"),
        ("my cousin felt suicidal before her ablation but she's doing well now", "resolved"),
        ("I had dark thoughts when the pain peaked, but that has passed now", "resolved"),
        ("I fear the ablation may leave my legs weak someday", "hypothetical"),
        ("back in college my legs gave out under me during a game", "past"),
        ("had a fever last week from the flu, all good now. is the block a test?", "resolved"),
        ("Back in college I pulled a muscle and my legs gave out for a week.", "past"),
    ],
)
def test_signs_that_are_not_present_get_no_alarm(detector, text, reason) -> None:
    verdict = detector.assess(text)
    assert verdict.status != safety.PRESENT and verdict.urgency is None
    assert reason in {finding.reason for finding in verdict.findings}


@pytest.mark.parametrize(
    "text",
    [
        "could RFA ever make me lose control of my bladder?",
        "what if I get a fever after the injection?",
        # Feeling well now: the time word is no sign happening now.
        "what if I get a fever after the injection, what would that mean? I feel fine right now",
        "could the block cause leg weakness? right now I'm okay",
        "is leg weakness a side effect of RFA?",
        # The sign is the question's own verb: the question still holds.
        "can the ablation paralyze you?",
        # A question after another sentence, or after a dash, is still a question.
        "I feel great today. Is a fever after the facet shot something to worry about?",
        "What should I watch for after the block? like is a fever something to worry about?",
        "just curious - is a fever after the facet shot a bad sign?",
    ],
)
def test_questions_about_a_sign_get_the_safety_net(detector, text) -> None:
    verdict = detector.assess(text)
    assert verdict.status == safety.MENTIONED and verdict.urgency is None
    assert verdict.safety_net and "now" not in verdict.safety_net.split()


@pytest.mark.parametrize(
    "text",
    [
        # A sign is a whole word: "hot" inside "shot", "red" inside "tired", "ooz" inside
        # "chooze", "I'll kill" inside "still kills" are none.
        "No fever and no redness. How long is the injection spot sore after a facet shot?",
        "no fever, nothing like that, just curious - how long is the injection spot sore"
        " after a facet shot?",
        "whats the medicine in the shot where they put the steroid in the joint?",
        "how dey chooze between the two shots?",
        "my back still kills me, does the block help?",
        "I'm so tired where the needle went in, is that the numbing?",
    ],
)
def test_a_sign_inside_another_word_is_no_sign(detector, text) -> None:
    verdict = detector.assess(text)
    assert verdict.urgency is None
    assert verdict.status != safety.PRESENT


@pytest.mark.parametrize(
    "text",
    [
        "what if I get a fever after the injection? I don't feel fine right now",
        "could the block cause leg weakness? my legs are weak right now",
        "i feel fine right now but my legs went numb since the shot",
        # The sign in front of the patient, asked about.
        "I had the block. How long does the site stay red and hot like this?",
        "the site has discharge coming out",
    ],
)
def test_feeling_unwell_now_beside_a_question_still_alarms(detector, text) -> None:
    assert detector.assess(text).status == safety.PRESENT, text


def test_a_carer_writing_about_someone_now_is_an_emergency(detector) -> None:
    assert detector.assess("my husband can't pee since his block this morning").urgency


def test_everyday_ache_and_other_senses_find_nothing(detector) -> None:
    for text in (
        "standing in line makes my legs ache",
        "what temperature does the probe reach",
        # Leaving hospital, not fluid from the site.
        "is mbb and fji the same thing? my discharge papers list both",
        "I was discharged from the clinic at noon, does the block hurt after?",
    ):
        assert detector.assess(text).findings == ()


def test_mixing_up_the_procedures_is_no_confusion(detector) -> None:
    """ "I get mixed up between the two" is about names; a person mixed up is not."""
    for text in (
        "I get mixed up between facet joint injections and medial branch blocks.",
        "i keep getting them mixed up, which is the test?",
        "I mixed up the block with the injection",
    ):
        assert detector.assess(text).findings == (), text
    for text in ("I feel mixed up since the ablation", "she is mixed up and drowsy"):
        assert detector.assess(text).urgency == "emergency", text


def test_zero_width_characters_and_curly_quotes_do_not_hide_a_sign(detector) -> None:
    assert detector.assess("chest\u200b pain").urgency == "emergency"
    assert detector.assess("I can\u2019t feel my groin").urgency == "emergency"


def test_summary_names_concepts_never_text(detector) -> None:
    summary = detector.assess("my groin is numb, also no fever").summary()
    assert summary == {
        "status": "present",
        "urgency": "emergency",
        "present": ["saddle_numbness"],
        "mentioned": [],
        "absent": ["infection"],
    }


def test_advice_says_what_to_do() -> None:
    rules = load_safety_rules()
    assert "911" in rules.advice["emergency"] and "now" in rules.advice["emergency"]
    assert "988" in rules.advice["crisis"] and "911" in rules.advice["crisis"]
    assert "clinic" in rules.advice["infection"]
    # Someone else's suicidal words are a crisis too: the advice says what to do for them.
    assert "someone else" in rules.advice["crisis"]
    assert rules.advice_for([]) == rules.advice["general"]
    assert rules.kinds(["infection", "self_harm", "nope"]) == ["crisis", "infection"]
    assert "988" in rules.safety_net_for(["crisis"])


def _copy_rules(tmp_path: Path) -> tuple:
    safety_file = tmp_path / "safety.yml"
    context_file = tmp_path / "safety_context.yml"
    shutil.copy(SAFETY_FILE, safety_file)
    shutil.copy(SAFETY_CONTEXT_FILE, context_file)
    return safety_file, context_file


def test_broken_files_are_rejected_naming_file_entry_and_field(tmp_path: Path) -> None:
    safety_file, context_file = _copy_rules(tmp_path)
    good = safety_file.read_text()
    safety_file.write_text(good.replace("advice: crisis", "advice: panic"))
    with pytest.raises(SafetyRulesError, match=r"concept 'self_harm': field 'advice'.*panic"):
        load_safety_rules(safety_file, context_file)
    safety_file.write_text(good.replace('"cauda equina"', '"cauda (equina"'))
    with pytest.raises(SafetyRulesError, match=r"concept 'saddle_numbness': bad regular exp"):
        load_safety_rules(safety_file, context_file)
    safety_file.write_text(good.replace("{numb}", "{numbness}", 1))
    with pytest.raises(SafetyRulesError, match=r"unknown vocabulary entry \{numbness\}"):
        load_safety_rules(safety_file, context_file)
    safety_file.write_text(good)
    context = context_file.read_text()
    context_file.write_text(context.replace("category: NEGATED", "category: NEGATIVE", 1))
    with pytest.raises(SafetyRulesError, match=rf"{context_file}: modifier #1: field 'category'"):
        load_safety_rules(safety_file, context_file)
    missing = tmp_path / "missing.yml"
    with pytest.raises(SafetyRulesError, match=str(missing)):
        load_safety_rules(missing, context_file)
    bad_yaml = write(tmp_path, "bad.yml", "advice: [\n")
    with pytest.raises(SafetyRulesError, match="cannot be loaded"):
        load_safety_rules(bad_yaml, context_file)


def test_rules_reload_on_change_and_keep_the_last_good_version(tmp_path: Path) -> None:
    safety_file, context_file = _copy_rules(tmp_path)
    loader = Reloading(
        lambda: load_safety_rules(safety_file, context_file),
        (safety_file, context_file),
        (SafetyRulesError,),
        "Red-flag rules",
    )
    first = loader.get()
    assert loader.get() is first  # unchanged files: the same object, no re-read
    text = safety_file.read_text()
    safety_file.write_text(text.replace("Suicide & Crisis Lifeline, 24/7", "988 Lifeline"))
    second = loader.get()
    assert second is not first and "988 Lifeline" in second.advice["crisis"]
    safety_file.write_text("advice: [\n")
    assert loader.get() is second  # a broken edit keeps the last good rules
    assert "988 Lifeline" in Detector(second).assess("i want to kill myself").advice


def _spans(detector: Detector, text: str) -> list:
    doc = detector.nlp(safety.detector.normalise(text))
    return [
        (span.label_, span.start, span.end, sorted(m.category for m in span._.modifiers))
        for span in doc.spans.get("medspacy_spans", [])
    ]


def test_the_regex_speedup_finds_exactly_what_medspacy_finds(detector) -> None:
    """bot/core/safety/regex_speedup.py changes the cost of matching, never its result."""
    import yaml

    from bot.core.safety import regex_speedup
    from tests.test_red_flag_suite import SUITE, TUNING

    texts = [
        case["text"]
        for path in (SUITE, TUNING)
        for cases in yaml.safe_load(path.read_text()).values()
        if isinstance(cases, list)
        for case in cases
    ]
    assert len(texts) > 1000
    assert regex_speedup.install(), "medspaCy is not the version the speed-up was written for"
    fast = [_spans(detector, text) for text in texts]
    regex_speedup.uninstall()
    try:
        original = [_spans(detector, text) for text in texts]
    finally:
        regex_speedup.install()
    assert sum(1 for spans in fast if spans) > 900
    assert fast == original
    # The detector's quick check skips spaCy only where the matcher finds nothing.
    quiet = [safety.detector.normalise(text) for text in texts]
    skipped = [
        spans for text, spans in zip(quiet, fast, strict=True) if not detector.any_sign.search(text)
    ]
    assert skipped and not any(skipped)


def test_the_regex_speedup_stays_out_of_other_medspacy_versions(monkeypatch) -> None:
    import medspacy

    from bot.core.safety import regex_speedup

    monkeypatch.setattr(medspacy, "__version__", "1.4.0")
    assert regex_speedup.install() is False
