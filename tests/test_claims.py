"""Yes or no to a patient checking what they understood (bot/core/claims.py, data/claims.yml)."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.core import claims
from bot.core.facts import load_fact_store
from bot.core.paths import CLAIMS_FILE

# The names these tests use, as the NLU's entity extractor would mark them.
NAMES = {
    "facet injection": "fji",
    "facet shot": "fji",
    "joint shot": "fji",
    "medial branch block": "mbb",
    "nerve block": "mbb",
    "block": "mbb",
    "rfa": "rfa",
    "nerve burning": "rfa",
    "ablation": "rfa",
}


def names(text: str):
    found, taken = [], set()
    for name in sorted(NAMES, key=len, reverse=True):
        for match in re.finditer(rf"\b{name}\b", text, re.IGNORECASE):
            span = set(range(*match.span()))
            if not span & taken:
                taken |= span
                found.append((match.start(), match.end(), NAMES[name]))
    return sorted(found)


@pytest.fixture(scope="module")
def checker() -> claims.Claims:
    return claims.current_claims(load_fact_store())


YES, NOT_QUITE = "Yes, that's right.", "Not quite."
# What each reply says of the verdict: (holds, form).
VERDICTS = {YES: (True, "statement"), NOT_QUITE: (False, "statement")}
VERDICTS.update({"Yes.": (True, "question"), "No.": (False, "question")})


@pytest.mark.parametrize(
    "text, reply",
    [
        # True statements.
        ("so the nerve block is the test and the ablation is the treatment, right?", YES),
        ("the facet shot has a steroid in it, correct?", YES),
        (
            "ok so the medial branch block is only numbing medicine and the facet injection "
            "adds a steroid?",
            YES,
        ),
        ("the nerve block has no steroid, is that right?", YES),
        ("Both the facet injection and the nerve block are outpatient, right?", YES),
        ("So the facet injection is a test and a treatment?", YES),
        ("I was told the block has no steroid, unlike the facet shot. Is that true?", YES),
        (
            "so the facet injection goes inside the joint and the block goes on the nerves, right?",
            YES,
        ),
        # "Mostly diagnostic": mainly a test is right.
        ("so the nerve block is mainly a test, right?", YES),
        # False ones.
        ("the nerve block has a steroid too, right?", NOT_QUITE),
        ("the facet injection is just a test, right?", NOT_QUITE),
        ("RFA is a test, correct?", NOT_QUITE),
        ("so the ablation is a diagnostic thing?", NOT_QUITE),
        # A name with a thing in it says nothing by itself ("burning" is no claim here).
        ("and the nerve burning - is that a test too?", NOT_QUITE),
        ("the facet shot uses heat and the block uses numbing medicine, right?", NOT_QUITE),
        # "Just" numbing is false of what uses heat, though the articles name no medicine
        # for it.
        ("so the ablation is basically just another numbing injection like the block?", NOT_QUITE),
        (
            "ok so the facet injection is steroid + numbing med and the block is only numbing med?",
            YES,
        ),
        # Only the facet joint injection's steroid calms inflammation.
        ("does the nerve block calm down inflammation like the facet injection does?", "No."),
        ("the facet shot reduces the inflammation, right?", YES),
        # Yes-or-no questions get a plain yes or no.
        ("does the nerve block have a steroid in it?", "No."),
        ("Do both the facet injection and the nerve block contain a steroid?", "No."),
        ("is the facet shot done as an outpatient?", "Yes."),
        ("My sister had one last year. Does RFA use heat?", "Yes."),
        ("Ablation vs facet injection, are they both treatments?", "Yes."),
    ],
)
def test_a_settled_statement_gets_its_yes_or_no(checker, text, reply) -> None:
    verdict = checker.verdict(text, names(text))
    assert verdict is not None and (verdict.holds, verdict.form) == VERDICTS[reply]
    assert checker.reply(verdict) == reply


@pytest.mark.parametrize(
    "text",
    [
        # Not asking for a confirmation, or a yes-or-no question the answer does not answer
        # (not the last one), or one about more than the thing itself.
        "does the block have steroid? and how long does it last?",
        "does the block treat the pain?",
        "does the steroid in the facet shot affect my diabetes?",
        "and the steroid in the facet shot?",
        "which one has the steroid, the block or the facet injection?",
        # More said than the thing ("has a steroid"): no yes to what the facts don't hold.
        "the steroid in the facet shot raises blood sugar, right?",
        "the block has numbing medicine that can wear off in hours, right?",
        # Just a test? Mostly: it eases pain for a while too.
        "so the nerve block is just a test, right?",
        # The articles give no medicine for RFA.
        "RFA uses a steroid, right?",
        "does RFA reduce inflammation?",
        "After my surgery, is RFA a test?",
        # Said of something not named, or a name with nothing said of it.
        "so the block is a test and the burning is the real deal, right?",
        "the facet shot has steroid and the block too, right?",
        # Something the file cannot judge, beside something it can.
        "so the order is: blocks first, then the ablation with heat, right?",
        # About the body, a doubt, or a degree: a question of its own.
        "numbness after the nerve block is normal, right?",
        "the block is only numbing my legs, right?",
        "so the facet injection is the treatment? or can the block help too?",
        "the facet injection lasts longer than the block, right?",
    ],
)
def test_anything_unclear_gets_no_verdict(checker, text) -> None:
    assert checker.verdict(text, names(text)) is None
    assert checker.reply(None) == ""


def test_every_thing_rests_on_facts_of_the_store() -> None:
    raw = yaml.safe_load(CLAIMS_FILE.read_text(encoding="utf-8"))
    store = load_fact_store()
    for kind, things in raw["kinds"].items():
        assert things.pop("topic") in store.topics, kind
        for name, thing in things.items():
            for fact_id in thing["facts"]:
                fact = next(f for f in store.facts if f.id == fact_id)
                said_of = {
                    *thing.get("true_for", []),
                    *thing.get("false_for", []),
                    *thing.get("partly_for", []),
                }
                assert said_of & set(fact.procedures), (kind, name, fact_id)


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("facts", ["no_such_fact"], "facts"),
        ("false_for", ["fji"], "both true and false"),
    ],
)
def test_a_thing_the_facts_do_not_back_is_refused(field, value, error) -> None:
    raw = yaml.safe_load(CLAIMS_FILE.read_text(encoding="utf-8"))
    raw["kinds"]["medicine"]["steroid"][field] = value
    store = load_fact_store()
    with pytest.raises(claims.ClaimsError, match=error):
        claims.parse_claims(
            raw, list(store.procedures), [f.id for f in store.facts], list(store.topics)
        )


def test_a_bare_yes_or_no_among_the_small_words_is_refused() -> None:
    """YAML reads a bare yes as true: "..., mbb has numbing only, yes?" then says more."""
    raw = yaml.safe_load(CLAIMS_FILE.read_text(encoding="utf-8"))
    raw["small_words"] = [*raw["small_words"], True]
    store = load_fact_store()
    with pytest.raises(claims.ClaimsError, match="quote yes"):
        claims.parse_claims(
            raw, list(store.procedures), [f.id for f in store.facts], list(store.topics)
        )


def test_names_are_found_within_a_long_messages_question() -> None:
    text = "My doctor booked a block. The block is a test, right?"
    entities = [
        {"entity": "procedure", "value": "mbb", "start": 19, "end": 24},
        {"entity": "procedure", "value": "mbb", "start": 30, "end": 35},
    ]
    question = "The block is a test, right?"
    assert claims.names_in(entities, text, question) == [(4, 9, "mbb")]


def test_a_name_made_of_a_relative_clause_says_nothing_about_it(checker) -> None:
    """ "The shot that goes into the joint" names the facet injection; "the injection goes
    into the joint", one name to the NLU too, says where it goes."""
    follow_up = "ok and the shot that goes right into the joint?"
    start = follow_up.index("shot")
    assert checker.verdict(follow_up, [(start, len(follow_up) - 1, "fji")]) is None
    said = "so the injection goes into the joint, right?"
    start, end = said.index("injection"), said.index(",")
    verdict = checker.verdict(said, [(start, end, "fji")])
    assert verdict is not None and verdict.holds and verdict.topic == "what_is"
