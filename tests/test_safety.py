"""The deterministic red-flag layer: every red flag fires, ordinary questions don't."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import safety
from bot.safety import SafetyRulesError, load_safety_rules
from tests.conftest import write

RED_FLAGS = [
    # (message, expected advice kind, expected rule)
    ("I can't control my bladder since the injection", "emergency", "bladder_bowel"),
    ("i lost control of my bowels this morning", "emergency", "bladder_bowel"),
    ("I wet myself and didn't feel it", "emergency", "bladder_bowel"),
    ("my groin went numb after the block", "emergency", "saddle_numbness"),
    ("numbness between my legs and my inner thighs", "emergency", "saddle_numbness"),
    ("I can't feel my butt when I sit on the toilet", "emergency", "saddle_numbness"),
    ("my legs are getting weaker by the hour", "emergency", "leg_weakness"),
    ("my leg keeps giving out since the shot", "emergency", "leg_weakness"),
    ("i suddenly can't lift my foot", "emergency", "leg_weakness"),
    (
        "I have a fever and the injection site is red and swollen",
        "infection",
        "injection_site_infection",
    ),
    ("chills and the spot where they injected is hot", "infection", "injection_site_infection"),
    ("there is pus coming out of the needle site", "infection", "injection_site_infection"),
    ("I have chest pain after the procedure", "emergency", "chest_breathing"),
    ("cant breathe properly", "emergency", "chest_breathing"),
    ("I'm short of breath", "emergency", "chest_breathing"),
    ("i want to kill myself", "crisis", "self_harm"),
    ("Sometimes I think about ending my life because of this pain", "crisis", "self_harm"),
    ("i dont want to live with this pain anymore", "crisis", "self_harm"),
    ("I\u2019ve been thinking about suicide", "crisis", "self_harm"),
    ("CHEST PAIN!!!", "emergency", "chest_breathing"),
]

ORDINARY = [
    "does it hurt?",
    "does a facet injection hurt?",
    "how long does the relief last",
    "which lasts longer?",
    "wat is a mbb",
    "will the steroid make my leg weak",
    "do they numb the skin first",
    "is soreness normal after the shot",
    "can i go back to work the next day",
    "what are facet joints",
    "why would i need two blocks",
    "my back pain is worse when i stand",
    "does insurance cover a nerve block",
    "what happens if neither procedure helps",
    "is rfa the same as burning the nerves",
    "how do they control where the needle goes",
    "what is the difference between the two",
    "thanks, that helped",
    "this back pain is killing me, what can a facet shot do",
    "i think i have a sinus infection what should i take",
]


@pytest.mark.parametrize("text, kind, rule", RED_FLAGS)
def test_red_flags_fire_with_the_right_advice(text: str, kind: str, rule: str) -> None:
    flag = safety.check(text)
    assert flag is not None, text
    assert flag.advice_kind == kind
    assert rule in flag.rule_ids


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_questions_do_not_trigger(text: str) -> None:
    assert safety.check(text) is None


def test_advice_says_what_to_do() -> None:
    rules = safety.default_rules()
    assert "911" in rules.advice["emergency"]
    assert "emergency room" in rules.advice["emergency"]
    assert "988" in rules.advice["crisis"] and "911" in rules.advice["crisis"]
    assert "911" in rules.advice["general"]


def test_crisis_wins_over_other_flags() -> None:
    flag = safety.check("chest pain and i want to die")
    assert flag.advice_kind == "crisis"
    assert set(flag.rule_ids) == {"chest_breathing", "self_harm"}


def test_zero_width_characters_do_not_hide_a_red_flag() -> None:
    assert safety.check("chest\u200b pain") is not None
    assert safety.check("s\u200buicidal") is not None


def test_broken_rules_file_is_rejected_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "safety.yml", "advice: {emergency: x}\nred_flags: []\n")
    with pytest.raises(SafetyRulesError, match=str(path)):
        load_safety_rules(path)
    good_advice = "advice: {emergency: a, infection: b, crisis: c, general: d}\n"
    bad_pattern = (
        good_advice + "red_flags:\n- {id: x, label: y, advice: emergency, all_of: [['(']]}\n"
    )
    with pytest.raises(SafetyRulesError, match="rule 'x': field 'all_of': bad pattern"):
        load_safety_rules(write(tmp_path, "s2.yml", bad_pattern))
    unknown_kind = good_advice + "red_flags:\n- {id: x, label: y, advice: nope, all_of: [['a']]}\n"
    with pytest.raises(SafetyRulesError, match="unknown kind 'nope'"):
        load_safety_rules(write(tmp_path, "s3.yml", unknown_kind))
