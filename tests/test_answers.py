"""Answer composition and the question responder, on the real fact store."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import answers, responder, safety
from tests.conftest import procedure_entity


def ask(store, settings, intent, text, procedures=(), current=None):
    entities = [procedure_entity(p) for p in procedures]
    return responder.answer_question(store, settings, intent, text, entities, current)


def follow_up(store, settings, first, text, procedures=(), current=None):
    """`ask_follow_up` after the reply `first`, for the procedure under discussion."""
    entities = [procedure_entity(p) for p in procedures]
    return responder.answer_question(
        store, settings, "ask_follow_up", text, entities, current, last_topic=first.topic
    )


@pytest.mark.parametrize("topic_id", ["duration", "medication", "purpose", "what_is"])
def test_every_answer_cites_and_offers_follow_ups(store, topic_id) -> None:
    reply = answers.answer_topic(store, topic_id)
    assert "Source" in reply.text.split("\n\n")[-1]
    assert 1 <= len(reply.buttons) <= 3
    for button in reply.buttons:
        assert not button.payload.startswith("/"), "buttons must not bypass NLU"


def test_all_topics_answer_from_their_facts(store) -> None:
    for topic_id in store.topics:
        reply = answers.answer_topic(store, topic_id)
        for fact in store.facts_for(topic_id):
            assert (fact.answer in reply.text) != fact.only_when_asked, (topic_id, fact.id)
        assert store.sources[store.facts_for(topic_id)[0].article].title in reply.text


def test_named_procedure_gets_only_its_fact(store, settings) -> None:
    reply = ask(store, settings, "ask_duration", "how long does a facet shot last", ["fji"])
    assert reply.text.startswith(store.fact("fji_duration").answer)
    assert store.fact("mbb_duration").answer not in reply.text
    assert reply.procedure == "fji"
    assert reply.fact_ids == ("fji_duration",)


def test_follow_up_uses_the_procedure_under_discussion(store, settings) -> None:
    reply = ask(store, settings, "ask_duration", "how long does it last?", current="mbb")
    assert reply.fact_ids == ("mbb_duration",)
    assert reply.procedure == "mbb"


def test_a_follow_up_to_a_not_covered_answer_is_not_covered_either(store, settings) -> None:
    first = ask(store, settings, "ask_uncovered", "how much does an rfa cost", ["rfa"])
    assert "don't cover the cost or price" in first.text and first.topic
    follow = follow_up(store, settings, first, "and for the block?", ["mbb"], "rfa")
    assert "don't cover the cost or price" in follow.text
    assert not follow.fact_ids
    # A not-covered question with no known subject is remembered the same way.
    general = answers.answer_uncovered(store, settings)
    again = responder.answer_question(
        store, settings, "ask_follow_up", "what about fji?", last_topic=general.topic
    )
    assert "don't cover that question" in again.text


def test_what_comes_after_the_block_moves_the_conversation_to_rfa(store, settings) -> None:
    after = ask(store, settings, "ask_next_steps", "what comes after the block?", ["mbb"])
    assert after.procedure == "rfa"
    # "how does that one work?" is then about RFA.
    reply = ask(store, settings, "ask_what_is", "how does that one work?", current=after.procedure)
    assert reply.fact_ids == ("rfa_what_is",)
    # Asked for a procedure the articles say nothing about here, it stays the subject.
    assert (
        ask(store, settings, "ask_next_steps", "after the facet shot?", ["fji"]).procedure == "fji"
    )


def test_no_procedure_gives_side_by_side(store, settings) -> None:
    reply = ask(store, settings, "ask_duration", "how long does the relief last")
    assert reply.fact_ids == ("fji_duration", "mbb_duration", "rfa_duration")
    assert "- Facet joint injection (FJI):" in reply.text
    assert "- Medial branch block (MBB):" in reply.text


def test_comparison_question_is_side_by_side_even_with_a_procedure_in_play(store, settings) -> None:
    reply = ask(store, settings, "ask_duration", "which lasts longer?", current="mbb")
    assert {"fji_duration", "mbb_duration"} <= set(reply.fact_ids)
    reply = ask(store, settings, "ask_medication", "facet shot vs nerve block meds", ["fji", "mbb"])
    assert reply.fact_ids == ("fji_medication", "mbb_medication")


def test_topic_not_covered_for_the_procedure_is_said_honestly(store, settings) -> None:
    reply = ask(store, settings, "ask_pain", "does rfa hurt", ["rfa"])
    assert "don't cover this for radiofrequency ablation" in reply.text
    assert "care team" in reply.text
    assert store.fact("pain_during").answer in reply.text


def test_general_topic_ignores_the_procedure(store, settings) -> None:
    reply = ask(store, settings, "ask_facet_joints", "what are facet joints", current="mbb")
    assert reply.fact_ids == ("facet_joints_what",)
    assert "don't cover" not in reply.text


@pytest.mark.parametrize(
    "text, label",
    [
        ("can I take my blood thinners before the injection?", "blood thinners"),
        ("can i drive home after the facet shot", "driving after the procedure"),
        ("how much does an rfa cost", "the cost or price"),
        ("will I be sedated for the nerve block", "sedation or being put to sleep"),
        ("is it safe when pregnant", "pregnancy or breastfeeding"),
        ("what gauge of needle is used for the block?", "the size of the needle"),
        ("how many times in my life can i have an rfa", "how many times it can be repeated"),
        ("which symptoms after the block mean i should go to the er?", "which warning signs"),
        ("how often do facet injections lead to infection?", "how often infections"),
        ("can rfa be repeated if the pain comes back", "how many times it can be repeated"),
        ("is there a risk the ablation could paralyse me?", "serious harm such as paralysis"),
        ("what temperature do they heat the nerve to?", "the equipment used"),
        ("should i put a heating pad on it after the block", "ice or heat packs afterwards"),
        ("i have a pacemaker, does that matter for rfa", "pacemakers and other implanted"),
    ],
)
def test_uncovered_subjects_are_never_answered(store, settings, text, label) -> None:
    # Even if the classifier picked an answerable topic, the subject check wins.
    reply = ask(store, settings, "ask_recovery", text)
    assert f"don't cover {label}" in reply.text
    assert "555-0100" in reply.text
    assert not reply.fact_ids


def test_a_statement_naming_a_procedure_is_told_what_it_is_not_refused(store) -> None:
    """ "I'm getting a medial branch block on Friday" asks nothing the articles leave
    out: what the procedure is. A question the NLU found not covered still is, and so
    is a message naming a subject the articles don't cover, or no procedure."""
    uncovered = "ask_uncovered"

    def meant(text: str, names: bool = True) -> str:
        return store.intent_meant(uncovered, text.lower(), [], names_procedure=names)

    assert meant("I'm getting a medial branch block on Friday") == "ask_what_is"
    assert meant("what will it feel like on friday?") == uncovered
    assert meant("just wondering about the block friday") == uncovered
    assert meant("having the block friday, on warfarin") == uncovered
    assert meant("my appointment is on friday", names=False) == uncovered


def test_a_needle_question_about_time_is_not_about_its_size(store) -> None:
    assert store.uncovered_subject("how long does the needle stay in?") is None


def test_whether_i_need_a_procedure_is_personal_but_what_to_bring_is_not(store) -> None:
    assert store.is_personal("my mri shows a bulging disc. do i even need a facet injection?")
    assert not store.is_personal("why do i need two blocks?")
    assert not store.is_personal("what do i need to bring on the day?")


def test_asking_what_my_symptoms_are_is_personal(store, settings) -> None:
    text = "just a dull ache when i twist, could that be facet joint syndrome?"
    reply = ask(store, settings, "ask_facet_syndrome", text)
    assert reply.text.startswith("I can't tell what is right for you")


def test_skipping_a_step_is_a_personal_question(store, settings) -> None:
    text = "is it ok if i skip the second block and go straight to the ablation?"
    reply = ask(store, settings, "ask_next_steps", text)
    assert reply.text.startswith("I can't tell what is right for you")


def test_insurance_question_mentioning_cost_is_answered(store, settings) -> None:
    reply = ask(store, settings, "ask_insurance", "will insurance cover the cost of a nerve block")
    assert "insurance_depends" in reply.fact_ids


@pytest.mark.parametrize(
    "text",
    [
        "how much does a medial branch block cost if i pay out of pocket",
        "and how much would it cost me without insurance?",
        "what is the cash price for the ablation",
    ],
)
def test_asking_what_it_costs_is_not_covered_even_as_an_insurance_question(
    store, settings, text
) -> None:
    """The articles give no prices: asking one is not answered with coverage facts."""
    reply = ask(store, settings, "ask_insurance", text)
    assert "don't cover the cost or price" in reply.text and not reply.fact_ids


def test_a_description_of_the_other_procedure_switches_to_it(store, settings, nlp) -> None:
    """ "The shot that goes right into the joint" names the facet joint injection."""
    from bot.core.responder import procedures_named

    text = "ok and the shot that goes right into the joint?"
    entities = [
        {"entity": "procedure", "value": e.ent_id_, "start": e.start_char, "end": e.end_char}
        for e in nlp(text).ents
    ]
    assert procedures_named(entities, store) == ["fji"]
    assert store.is_bare_follow_up(text, [(e["start"], e["end"]) for e in entities])
    first = ask(store, settings, "ask_duration", "how long does a block help", ["mbb"])
    second = responder.answer_question(
        store, settings, "ask_follow_up", text, entities, "mbb", last_topic=first.topic
    )
    assert second.fact_ids and all(store.fact(f).is_about("fji") for f in second.fact_ids)


def test_red_flag_wins_over_any_intent(store, settings) -> None:
    text = "how long does it last, i cant control my bladder"
    reply = responder.answer_question(
        store, settings, "ask_duration", text, red_flag=safety.assess(text).summary()
    )
    assert "911" in reply.text and reply.urgency == "emergency"
    assert not reply.fact_ids and not reply.buttons


def test_with_note_keeps_the_source_line_last(store) -> None:
    reply = answers.with_note(answers.answer_topic(store, "pain"), "A note.")
    paragraphs = reply.text.split("\n\n")
    assert paragraphs[-2:] == ["A note.", paragraphs[-1]] and paragraphs[-1].startswith("Source")
    plain = answers.Reply(text="No source here.")
    assert answers.with_note(plain, "A note.").text == "No source here.\n\nA note."
    assert answers.with_note(plain, "") is plain


def test_unknown_intent_is_not_guessed(store, settings) -> None:
    reply = ask(store, settings, "ask_something_new", "what about the other thing")
    assert "don't cover" in reply.text and not reply.fact_ids


def test_greeting_carries_the_disclaimer(store, settings) -> None:
    reply = answers.answer_greeting(store, settings)
    assert "not medical advice" in reply.text
    assert len(reply.buttons) == 3


def test_rephrase_offers_likely_topics_first(store) -> None:
    reply = answers.answer_rephrase(store, ["insurance", "unknown_topic"])
    assert reply.buttons[0].title == store.topics["insurance"].question
    assert len(reply.buttons) == 3


def test_contact_and_personal_advice_use_settings(store, settings) -> None:
    assert "Test Spine Clinic at 555-0100" in answers.answer_contact(settings).text
    personal = answers.answer_personal_advice(store, settings)
    assert "care team" in personal.text and "555-0100" in personal.text
    assert personal.buttons


def test_out_of_scope_names_the_procedures_as_a_sentence(store, settings) -> None:
    text = answers.answer_out_of_scope(store, settings).text
    assert "facet joint injections, medial branch blocks and radiofrequency ablations." in text
    assert answers.spoken_list(["a"]) == "a" and answers.spoken_list(["a", "b"]) == "a and b"


def test_a_fact_comes_with_the_facts_it_needs(store, settings) -> None:
    """ "A step on the way to a treatment that lasts longer" is said with the fact that
    names RFA, even when the planner chose only it."""
    reply = answers.answer_topic(store, "next_steps", "mbb", chosen={"mbb_stepping_stone"})
    assert reply.fact_ids == ("next_rfa_option", "mbb_stepping_stone")
    assert "RFA" in reply.text


def test_a_comparison_says_which_procedure_the_articles_leave_out(store, settings) -> None:
    reply = ask(
        store, settings, "ask_pain", "does the ablation hurt more than the block?", ["rfa", "mbb"]
    )
    assert "don't cover this for radiofrequency ablation" in reply.text
    assert store.fact("pain_during").answer in reply.text
    # Both procedures in the articles: no such line.
    both = ask(store, settings, "ask_duration", "which lasts longer?", ["fji", "mbb"])
    assert "don't cover" not in both.text


def test_why_answers_the_last_topic_again_in_full(store, settings) -> None:
    first = ask(store, settings, "ask_imaging", "what imaging do they use for the block", ["mbb"])
    why = responder.answer_question(
        store, settings, "ask_more", "why do they need that?", [], "mbb", last_topic=first.topic
    )
    assert why.topic == "imaging"
    assert set(why.fact_ids) == {fact.id for fact in store.facts_for("imaging")}
    # Naming a procedure explains it for that one.
    named = responder.answer_question(
        store,
        settings,
        "ask_more",
        "why is that for the facet shot?",
        [procedure_entity("fji")],
        "mbb",
        last_topic="duration",
    )
    assert named.fact_ids[0] == "fji_duration"
    # After a not-covered answer there is still nothing to say; before any answer, the
    # patient is asked to rephrase.
    uncovered = answers.answer_uncovered(store, settings, store.uncovered_subject("cost"))
    again = responder.answer_question(
        store, settings, "ask_more", "why not?", last_topic=uncovered.topic
    )
    assert "don't cover the cost or price" in again.text
    fresh = responder.answer_question(store, settings, "ask_more", "why?")
    assert "not sure I understood" in fresh.text and not fresh.fact_ids


def test_a_long_message_is_judged_by_its_question_not_its_story(store, settings) -> None:
    story = "I've had back pain since my second pregnancy and I go to the gym a lot."
    question = "How long is the recovery after a medial branch block?"
    text = f"{story} {question}"
    reply = responder.answer_question(
        store, settings, "ask_recovery", text, [procedure_entity("mbb")], question=question
    )
    assert reply.fact_ids and reply.topic == "recovery"
    # The subject the story raised is not passed over.
    assert "also touches on pregnancy or breastfeeding" in reply.text
    assert reply.text.rstrip().split("\n\n")[-1].startswith("Source")
    # Asked in the question itself, it is the answer.
    asked = "Is it safe while I'm pregnant?"
    uncovered = responder.answer_question(
        store, settings, "ask_recovery", f"{story} {asked}", question=asked
    )
    assert "don't cover pregnancy or breastfeeding" in uncovered.text
    assert not uncovered.fact_ids


def test_why_after_a_comparison_explains_the_comparison(store, settings) -> None:
    first = ask(store, settings, "ask_duration", "which lasts longer, fji or mbb?", ["fji", "mbb"])
    assert set(first.compared) == {"fji", "mbb"}
    why = responder.answer_question(
        store,
        settings,
        "ask_more",
        "why is that?",
        [],
        "mbb",
        last_topic=first.topic,
        last_compared=first.compared,
    )
    assert {"fji_duration", "mbb_duration"} <= set(why.fact_ids)
    # A one-procedure answer compares nothing.
    assert (
        ask(store, settings, "ask_duration", "how long does it last?", current="mbb").compared == ()
    )


def test_a_comparison_answered_by_one_shared_fact_says_so(store, settings) -> None:
    reply = ask(store, settings, "ask_side_effects", "side effects of fji vs mbb?", ["fji", "mbb"])
    assert reply.text.startswith("The same for both FJI and MBB: ")
    assert store.fact("side_effects_soreness").answer in reply.text
    # Facts that differ by procedure are set side by side instead.
    duration = ask(store, settings, "ask_duration", "fji vs mbb, how long?", ["fji", "mbb"])
    assert "The same for both" not in duration.text


def test_which_one_of_two_when_the_articles_speak_of_only_one(store, settings) -> None:
    text = "which one usually comes first before ablation, the joint injection or the block"
    reply = ask(store, settings, "ask_next_steps", text, ["fji", "mbb"])
    assert "only for the medial branch block" in reply.text
    assert "nothing about it for the facet joint injection" in reply.text
    assert "don't cover" not in reply.text
    # Not a "which" question: the articles can't compare, and say so.
    plain = ask(
        store, settings, "ask_pain", "does the ablation hurt more than the block", ["rfa", "mbb"]
    )
    assert "don't cover this for radiofrequency ablation, so I can't compare" in plain.text


def test_which_of_the_three_compares_every_procedure(store, settings) -> None:
    reply = ask(store, settings, "ask_what_is", "out of the three, which uses heat on the nerves?")
    assert set(reply.compared) == {"fji", "mbb", "rfa"}
    assert "heat" in reply.text


def test_which_of_these_procedures_compares_those_just_compared_else_all(store, settings) -> None:
    text = "which of these procedures go after the nerves?"
    first = ask(store, settings, "ask_what_is", text)
    assert set(first.compared) == {"fji", "mbb", "rfa"}
    assert "heat" in first.text
    # Right after a side-by-side answer of two, "these" are those two.
    after_pair = responder.answer_question(
        store, settings, "ask_what_is", text, (), None, last_compared=["fji", "mbb"]
    )
    assert set(after_pair.compared) == {"fji", "mbb"}
    # A named procedure says what the comparison is about.
    named = ask(
        store, settings, "ask_what_is", "which of these is it, the block or rfa", ["mbb", "rfa"]
    )
    assert set(named.compared) == {"mbb", "rfa"}


def test_where_the_needle_goes_in_each_is_the_difference_not_the_x_ray(store, settings) -> None:
    """`placement`: "where does the needle go in each one?", read as imaging, asks where
    each procedure acts; an X-ray question comparing the two stays imaging."""
    both = ["fji", "mbb"]
    where = ask(store, settings, "ask_imaging", "where does the needle go in each one?", both)
    assert where.topic == "difference"
    assert store.fact("difference_target").answer in where.text
    xray = ask(store, settings, "ask_imaging", "do both use an x-ray to guide the needle?", both)
    assert xray.topic == "imaging"
    # Read as the medicines, naming none or one of the two: still where each acts.
    for text, named in (
        ("where does the medicine actually go in each one?", []),
        ("which one puts it into the joint and which one goes on the nerves?", ["mbb"]),
    ):
        assert ask(store, settings, "ask_medication", text, named).topic == "difference", text
    # A question on the medicines stays one.
    what = ask(store, settings, "ask_medication", "what medicine goes in each one?", [])
    assert what.topic == "medication"
    # Read as how the doctor chooses: still where each acts; a choice stays a choice.
    text = "FJI or MBB, which one goes in the joint and which one on the nerve?"
    assert ask(store, settings, "ask_which_procedure", text, both).topic == "difference"
    text = "how does the doctor choose between the two?"
    assert ask(store, settings, "ask_which_procedure", text, both).topic == "which_procedure"
    text = "why would it matter how many shots I get in the same spot?"
    assert ask(store, settings, "ask_which_procedure", text, []).topic == "which_procedure"


def test_comparison_redirects_must_be_a_list_of_known_topics(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    with pytest.raises(FactStoreError, match="comparison_redirects"):
        _load_edited_store(tmp_path, lambda d: d.update(comparison_redirects={"cues": ["x"]}))
    bad = [{"cues": ["x"], "from_topics": ["imaging"], "topic": "nowhere"}]
    with pytest.raises(FactStoreError, match="nowhere"):
        _load_edited_store(tmp_path, lambda d: d.update(comparison_redirects=bad))


def test_the_first_one_is_the_first_procedure_of_the_last_side_by_side_answer(
    store, settings
) -> None:
    reply = responder.answer_question(
        store,
        settings,
        "ask_purpose",
        "the first one, is it only a test?",
        (),
        "fji",
        last_compared=["mbb", "fji"],
    )
    assert reply.procedure == "mbb"
    assert store.fact("mbb_purpose").answer in reply.text


def test_a_message_turning_to_a_new_subject_does_not_lean_to_the_last_topic(
    store, settings
) -> None:
    """An unsure guess naming no procedure leans to the last answer's topic
    (`context_prior`), unless the patient says the subject changes."""
    unsure = store.context_prior.below_confidence - 0.2
    ranking = [
        {"name": "ask_recovery", "confidence": unsure},
        {"name": "ask_duration", "confidence": 0.3},
    ]

    def reply(text: str) -> Any:
        return responder.answer_question(
            store,
            settings,
            "ask_recovery",
            text,
            (),
            "fji",
            last_topic="duration",
            ranking=ranking,
        )

    assert reply("what's recovery like for it?").topic == "duration"
    assert reply("ok switching gears. what's recovery like for it?").topic == "recovery"
    assert reply("another question: what's recovery like for it?").topic == "recovery"


def test_is_that_the_same_as_names_the_difference(store, settings) -> None:
    text = "is that the same thing as a facet joint injection?"
    reply = ask(store, settings, "ask_what_is", text, ["fji"], current="mbb")
    assert reply.topic == "difference"
    # A plain question about one procedure stays what it was.
    alone = ask(
        store, settings, "ask_what_is", "what is a facet joint injection?", ["fji"], current="mbb"
    )
    assert alone.topic == "what_is" and alone.fact_ids == ("fji_what_is",)


def test_a_comparison_naming_one_procedure_includes_the_one_discussed(store, settings) -> None:
    reply = ask(store, settings, "ask_duration", "is rfa longer than that?", ["rfa"], current="mbb")
    assert set(reply.compared) == {"mbb", "rfa"}


def test_exact_figures_and_scheduling_are_not_covered(store) -> None:
    figures = store.uncovered_subject("exactly how many months will the relief last", "duration")
    assert figures is not None and figures.id == "exact_figures"
    share = store.uncovered_subject("what percentage of back pain starts in these joints", None)
    assert share is not None and share.id == "exact_figures"
    # The one figure the articles give stays answered.
    assert (
        store.uncovered_subject("what percent relief do i need from the block", "rfa_candidate")
        is None
    )
    gap = store.uncovered_subject("how many weeks apart are the two blocks", "why_two_blocks")
    assert gap is not None and gap.id == "scheduling"
    assert store.uncovered_subject("how long does the relief last", "duration") is None
    back = "how soon can i get back to my normal routine after the block"
    assert store.uncovered_subject(back, "recovery") is None
    after = "how soon after the block could they go ahead with rfa"
    assert store.uncovered_subject(after, "next_steps").id == "scheduling"
    assert store.uncovered_subject("the scheduler called about my injection", "imaging") is None
    regrow = store.uncovered_subject("do the nerves grow back years after an ablation", "duration")
    assert regrow is not None and regrow.id == "long_term_effects"


def test_a_follow_up_asking_if_it_is_the_same_as_another_gets_the_difference(
    store, settings
) -> None:
    first = ask(store, settings, "ask_what_is", "what is a medial branch block", ["mbb"])
    text = "is it the same as the joint injection?"
    follow = follow_up(store, settings, first, text, ["fji"], first.procedure)
    assert follow.topic == "difference" and set(follow.compared) >= {"fji", "mbb"}


def test_the_medicine_of_rfa_is_answered_with_what_the_articles_say(store, settings) -> None:
    first = ask(store, settings, "ask_medication", "what medicine is in the block", ["mbb"])
    follow = follow_up(store, settings, first, "and the ablation?", ["rfa"], "mbb")
    assert follow.fact_ids == ("rfa_medication",)
    assert "heat" in follow.text and "don't cover" not in follow.text


def test_which_has_more_of_something_still_cannot_compare(store, settings) -> None:
    reply = ask(
        store,
        settings,
        "ask_side_effects",
        "which has more side effects, rfa or the block",
        ["rfa", "mbb"],
    )
    assert "don't cover this for radiofrequency ablation, so I can't compare" in reply.text


def test_facts_relating_two_procedures_are_not_the_same_for_both(store, settings) -> None:
    reply = ask(
        store, settings, "ask_next_steps", "rfa versus the block, what comes next", ["rfa", "mbb"]
    )
    assert "The same for both" not in reply.text
    shared = ask(
        store,
        settings,
        "ask_imaging",
        "do the injection and the block both use x-ray",
        ["fji", "mbb"],
    )
    assert shared.text.startswith("The same for both FJI and MBB")


def test_a_compared_fact_brings_the_fact_it_needs(store) -> None:
    # "if both of them work, what then?": a comparison of the usual pair (FJI, MBB), where
    # the fact naming RFA is about MBB and RFA.
    reply = answers.answer_topic(
        store, "next_steps", "mbb", compare=True, chosen={"mbb_stepping_stone"}
    )
    assert "mbb_stepping_stone" in reply.fact_ids and "next_rfa_option" in reply.fact_ids


def test_after_a_side_by_side_answer_that_one_means_the_procedures_compared(
    store, settings
) -> None:
    first = ask(store, settings, "ask_purpose", "which procedure is mainly a test?")
    assert set(first.compared) == {"fji", "mbb"} and first.procedure is None
    follow = responder.answer_question(
        store,
        settings,
        "ask_duration",
        "how long does that one last?",
        [],
        None,
        last_topic=first.topic,
        last_compared=first.compared,
    )
    assert set(follow.compared) == {"fji", "mbb"}
    assert "rfa_duration" not in follow.fact_ids


def test_a_comparison_naming_one_procedure_outside_the_usual_pair_includes_it(store) -> None:
    reply = answers.answer_topic(store, "duration", None, compare=True, named=["rfa"])
    assert {"rfa", "fji", "mbb"} <= set(reply.compared)


def test_why_brings_the_facts_that_give_the_reasons(store, settings) -> None:
    """`explained_by`: "why so short?" after how long a block lasts gets its medicine and
    its purpose too; the duration's limits line stays last, with one list of sources."""
    first = ask(store, settings, "ask_duration", "how long does the block last?", ["mbb"])
    why = responder.answer_question(
        store, settings, "ask_more", "why so short?", [], "mbb", last_topic=first.topic
    )
    assert why.topic == "duration" and why.fact_ids[0] == "mbb_duration"
    reasons = {store.fact(fact_id).topic for fact_id in why.fact_ids[1:]}
    assert reasons == {"medication", "purpose"}
    assert all(store.fact(fact_id).is_about("mbb") for fact_id in why.fact_ids)
    paragraphs = why.text.split("\n\n")
    assert paragraphs[-2] == store.topics["duration"].limits
    assert paragraphs[-1].startswith("Source") and sum("Source" in p for p in paragraphs) == 1
    # A plain duration question gets no reasons.
    assert first.fact_ids == ("mbb_duration",)


def test_a_follow_up_about_a_part_stays_with_the_procedure(store, settings) -> None:
    """ "And the numbing part?" after the facet injection's steroid is still about the
    facet injection; "and the other one?" moves to the block."""
    first = ask(store, settings, "ask_medication", "what does the steroid do in it?", ["fji"])
    part = follow_up(store, settings, first, "and the numbing part?", current="fji")
    assert part.topic == "medication" and all(
        store.fact(fact_id).is_about("fji") for fact_id in part.fact_ids
    )
    other = follow_up(store, settings, first, "and the other one?", current="fji")
    assert all(store.fact(fact_id).is_about("mbb") for fact_id in other.fact_ids)


def test_reasons_come_only_where_the_articles_give_them_for_the_procedure(store, settings) -> None:
    """Purpose is explained by what follows a block, which says nothing of the injection."""
    block = responder.answer_question(
        store, settings, "ask_more", "why bother?", [], "mbb", last_topic="purpose"
    )
    assert "next_rfa_option" in block.fact_ids
    injection = responder.answer_question(
        store, settings, "ask_more", "why bother?", [], "fji", last_topic="purpose"
    )
    assert injection.fact_ids == ("fji_purpose",) and "don't cover" not in injection.text


def test_how_long_does_that_last_after_the_soreness_is_about_the_soreness(store, settings) -> None:
    """`points_back_for`: "that" points at the last answer's subject, not at relief."""
    first = ask(store, settings, "ask_side_effects", "any side effects?", ["fji"])

    def then(text: str) -> answers.Reply:
        return responder.answer_question(
            store, settings, "ask_duration", text, [], "fji", last_topic=first.topic
        )

    assert then("how long does that last?").fact_ids == ("side_effects_soreness",)
    assert then("and how long does the relief last?").topic == "duration"
    assert then("how long does it last?").topic == "duration"
    # A question with no subject of its own (`bare_words`) asks about the soreness too.
    assert then("how many days tho?").fact_ids == ("side_effects_soreness",)
    assert then("how many days does the relief last?").topic == "duration"


def test_a_pair_the_articles_never_contrast_gets_what_each_one_is(store, settings) -> None:
    """The articles contrast FJI with MBB and MBB with RFA, never FJI with RFA: that pair
    gets each one's own description (`unpaired_topic`), not the FJI-vs-MBB fact."""
    text = "How is a facet joint injection different from RFA?"
    reply = ask(store, settings, "ask_difference", text, ["fji", "rfa"])
    assert reply.topic == "what_is" and set(reply.compared) == {"fji", "rfa"}
    assert "steroid" in reply.text and "heat" in reply.text
    assert "Medial branch block (MBB):" not in reply.text
    # ...saying first that the articles never compare the two (`unpaired_note`).
    assert reply.text.startswith(store.topics["difference"].unpaired_note or "(none)")
    # "Does it work the same way as RFA?" after a facet injection asks the same.
    same_way = ask(
        store, settings, "ask_what_is", "does it work the same way as the ablation?", ["rfa"], "fji"
    )
    assert same_way.topic == "what_is" and set(same_way.compared) == {"fji", "rfa"}
    assert same_way.text.startswith(store.topics["difference"].unpaired_note or "(none)")
    # The pairs the articles do contrast keep their own facts.
    paired = ask(store, settings, "ask_difference", "rfa vs the block?", ["rfa", "mbb"])
    assert paired.topic == "difference" and "not the same" in paired.text
    usual = ask(store, settings, "ask_difference", "fji vs mbb, what's the difference")
    assert usual.topic == "difference"


def test_and_then_what_asks_what_comes_after_the_last_answer(store, settings) -> None:
    """ "And then what?" right after an answer asks that topic's `then` topic: after what a
    block is for, what comes after the block; after "what if it doesn't help?", what the
    doctor does then. A longer question, or one after a topic without `then`, is left to
    the classifier."""

    def then(last_topic: str, text: str, intent: str = "ask_follow_up") -> Any:
        return responder.answer_question(
            store, settings, intent, text, (), "mbb", last_topic=last_topic
        )

    after_purpose = then("purpose", "and then what?")
    assert after_purpose.topic == "next_steps" and "RFA" in after_purpose.text
    assert then("why_two_blocks", "ok what happens next?").topic == "next_steps"
    assert then("no_relief", "so then what does the doctor do next?").topic == "no_relief"
    # Too long to be only "then what?".
    long = "and then what do they do about the soreness at the needle spot after?"
    assert then("purpose", long, "ask_side_effects").topic == "side_effects"
    # After how the procedure itself goes ("does it hurt?"), "then what?" is what comes
    # after the procedure.
    assert then("pain", "and then what?").topic == "next_steps"
    assert then("recovery", "what happens next?").topic == "next_steps"
    assert then("what_is", "what happens if it works?").topic == "next_steps"
    # A topic with no `then`: the classifier's intent stands.
    assert then("facet_joints", "and then what?", "ask_recovery").topic == "recovery"
    assert store.sequel_topic("what's next?", None) is None


def test_which_comes_first_asks_what_follows_the_block(store, settings) -> None:
    """ "The block or the ablation first?" read as how the doctor chooses gets what comes
    after the block (`order`); the articles give no order for the facet injection and the
    block, so that question stays how the doctor chooses."""
    text = "do i get the nerve block first or the ablation first"
    reply = ask(store, settings, "ask_which_procedure", text, ["mbb", "rfa"])
    assert reply.topic == "next_steps" and "RFA" in reply.text
    usual = "which comes first, facet joint injection or medial branch block?"
    kept = ask(store, settings, "ask_which_procedure", usual, ["fji", "mbb"])
    assert kept.topic == "which_procedure"
    # Without an order cue, choosing between the block and RFA stays choosing.
    choose = ask(
        store, settings, "ask_which_procedure", "block or ablation for me?", ["mbb", "rfa"]
    )
    assert choose.topic == "which_procedure"
    # A topic outside `from_topics` keeps its own answer.
    hurts = ask(
        store, settings, "ask_pain", "does the block hurt before the ablation", ["mbb", "rfa"]
    )
    assert hurts.topic == "pain"


def test_a_choice_between_one_shots_medicines_is_no_comparison_of_procedures(
    store, settings
) -> None:
    """ "Which works faster, the steroid or the anesthetic?" chooses between the medicines
    of the facet injection (`part_choice`): its medicines, not two procedures side by
    side. Medicine words that name procedures, or say what each procedure has, still
    compare procedures."""
    faster = "in the facet shot which works faster, the steroid or the anesthetic"
    reply = ask(store, settings, "ask_medication", faster, ["fji"])
    assert reply.topic == "medication" and not reply.compared
    assert "early relief" in reply.text and "Medial branch block" not in reply.text
    # No procedure named: the one under discussion, else the one with two medicines.
    which = "which of the medicines makes it last that long?"
    assert ask(store, settings, "ask_duration", which, (), "fji").topic == "medication"
    assert ask(store, settings, "ask_duration", which).procedure == "fji"
    # In a long message, the medicines may be named before the question.
    text = "the facet injection has two medicines right? what does each one do"
    start = text.index("facet injection")
    entities = [dict(procedure_entity("fji"), start=start, end=start + len("facet injection"))]
    long = responder.answer_question(
        store, settings, "ask_difference", text, entities, None, question="what does each one do"
    )
    assert long.topic == "medication" and not long.compared
    # Procedures named by their medicine, or told apart by it, are still compared.
    names = "which lasts longer, the steroid one or the numbing test?"
    spans = [("fji", "steroid one"), ("mbb", "numbing test")]
    named = [
        dict(procedure_entity(p), start=names.index(w), end=names.index(w) + len(w))
        for p, w in spans
    ]
    both = responder.answer_question(store, settings, "ask_duration", names, named, None)
    assert both.topic == "duration" and set(both.compared) == {"fji", "mbb"}
    # ...also with one of them named and the other not recognised as a name.
    one = "numbing injection on the nerves vs steroid in the joint, which finds the source"
    at = one.index("injection on the nerves")
    nerves = [dict(procedure_entity("mbb"), start=at, end=at + len("injection on the nerves"))]
    found = responder.answer_question(store, settings, "ask_purpose", one, nerves, None)
    assert found.topic == "purpose"
    apart = "which one is just numbing medicine and which one has steroid too?"
    assert ask(store, settings, "ask_medication", apart).compared


def test_a_question_asking_why_gets_the_reasons_too(store, settings) -> None:
    """ "Why does one last weeks and the other only hours?" is a duration question asking
    why: the facts that give the reasons come along (`why_cues`, `explained_by`), each
    only for the procedures the articles give it for."""
    text = "both have anesthetic, so why does one last weeks and the other only hours?"
    reply = ask(store, settings, "ask_duration", text, ["fji", "mbb"])
    assert reply.topic == "duration" and "steroid" in reply.text
    assert "diagnostic" in reply.text  # the block's purpose, a reason it is short
    plain = ask(store, settings, "ask_duration", "which lasts longer?", ["fji", "mbb"])
    assert "diagnostic" not in plain.text
    # A reason the articles give for one of the two only is not refused for the other.
    better = "why is it better at that than the facet injection?"
    purpose = ask(store, settings, "ask_purpose", better, ["fji"], "mbb")
    assert "don't cover" not in purpose.text and "RFA" in purpose.text


def test_the_other_one_with_a_topic_is_the_other_procedure(store, settings) -> None:
    """ "And the other one, how long?" has its own topic and points at the counterpart of
    the procedure under discussion (`other_procedure_cues`)."""
    reply = ask(store, settings, "ask_duration", "and the other one, how long?", (), "fji")
    assert reply.procedure == "mbb" and "hours" in reply.text
    same = ask(store, settings, "ask_duration", "and how long does it last?", (), "fji")
    assert same.procedure == "fji"


def test_a_topic_bridges_to_what_the_articles_say_for_a_procedure_it_lacks(store, settings) -> None:
    """ "What if neither helps?" has no fact for RFA, but the articles make RFA an option
    only once a block has shown the pain source (`bridges`): that, not "they don't cover
    this for RFA"."""
    after = ask(store, settings, "ask_no_relief", "does that mean rfa won't help either?", ["rfa"])
    assert "not the main source" in after.text and "RFA becomes an option" in after.text
    assert "don't cover" not in after.text
    both = "if neither the facet injection nor the block helps, do i need the ablation?"
    compared = ask(store, settings, "ask_no_relief", both, ["fji", "mbb", "rfa"])
    assert "RFA becomes an option" in compared.text and "don't cover" not in compared.text
    # A topic with no bridge for a procedure still says what the articles leave out.
    assert (
        "don't cover"
        in ask(store, settings, "ask_imaging", "is rfa done with x-ray?", ["rfa"]).text
    )


def test_a_bridge_needs_facts_that_speak_of_its_procedure(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    for bridges in ({"rfa": ["no_relief_other_causes"]}, {"nothing": ["next_rfa_option"]}, []):
        with pytest.raises(FactStoreError, match="bridges"):
            _load_edited_store(
                tmp_path, lambda d, b=bridges: d["topics"]["no_relief"].update(bridges=b)
            )


def test_a_topic_that_requires_words_gives_way_without_them(store) -> None:
    """ "What if it works?" is no "what if it doesn't help?": the no-relief topic
    `requires` words of failure; without them the next topic of the ranking is meant."""
    ranking = [
        {"name": "ask_no_relief", "confidence": 0.77},
        {"name": "ask_next_steps", "confidence": 0.06},
    ]
    assert store.intent_meant("ask_no_relief", "what if it works?", ranking) == "ask_next_steps"
    for failing in ("what if it doesnt work?", "and if I only get a little relief?"):
        assert store.intent_meant("ask_no_relief", failing, ranking) == "ask_no_relief"
    # Nothing else in the ranking: the intent stands; other topics require nothing.
    assert store.intent_meant("ask_no_relief", "what if it works?", ranking[:1]) == "ask_no_relief"
    assert store.intent_meant("ask_pain", "does it hurt?", ranking) == "ask_pain"


def test_the_x_ray_answer_needs_a_question_about_guiding_the_needle(store) -> None:
    """ "Does the block use heat?" shares "do they use" with "do they use an X-ray?", not
    the topic: without a word of seeing or guiding, the X-ray answer ("Yes. ...") gives
    way; another way to see the needle is a subject the articles don't cover."""
    ranking = [
        {"name": "ask_imaging", "confidence": 0.8},
        {"name": "ask_what_is", "confidence": 0.1},
    ]
    assert store.intent_meant("ask_imaging", "does the block use heat?", ranking) == "ask_what_is"
    for guided in ("do they use x-ray for the block?", "is fluoro used 4 the nerv blok"):
        assert store.intent_meant("ask_imaging", guided, ranking) == "ask_imaging", guided
    for other in ("do they use ultrasound for the injection?", "is it done under a ct scan"):
        assert store.uncovered_subject(other).id == "other_imaging", other
    assert store.uncovered_subject("do they use an x-ray to guide the needle?") is None


def test_which_procedure_is_safer_is_not_covered(store) -> None:
    """The articles compare no risks: "which is safer?" is not how the two differ."""
    for asked in ("which is safer, the facet injection or the block?", "is rfa riskier"):
        assert store.uncovered_subject(asked).id == "relative_safety", asked
    assert store.uncovered_subject("is the block safe for older people?") is None


def test_what_comes_next_after_a_failed_block_yields_to_no_relief(store) -> None:
    """`yields_to`: a next-steps question saying the block failed asks what happens
    when it does not help; one saying it worked stays what comes next."""
    for failing in ("if the block dont work what they do next", "next step if i get no relief"):
        assert store.intent_meant("ask_next_steps", failing, []) == "ask_no_relief"
    for working in ("what comes after a block that works?", "I'm not sure what comes next"):
        assert store.intent_meant("ask_next_steps", working, []) == "ask_next_steps"


def test_where_the_needle_goes_yields_from_the_x_ray_to_what_it_is(store) -> None:
    """ "Where do they put the needle for the block?" read as the X-ray asks where the
    block acts; seeing the way there stays the X-ray. `yielded_intent` tells a yield
    (the planner's confidence carries over) from a missing requirement."""
    for where in (
        "where do they put the needle for a medial branch block?",
        "where does the needle go for the block",
    ):
        assert store.yielded_intent("ask_imaging", where) == "ask_what_is"
        assert store.intent_meant("ask_imaging", where, []) == "ask_what_is"
    for seeing in ("do they use an x-ray to see where they put the needle?", "is it guided?"):
        assert store.yielded_intent("ask_imaging", seeing) is None
    assert store.yielded_intent("ask_pain", "where do they put the needle?") is None


def test_which_one_compares_the_two_procedures_the_conversation_was_about(store, settings) -> None:
    """ "And which one do they do first?" after a question on the block, then one on
    RFA, with no side-by-side answer before: those two, not the usual pair."""
    reply = responder.answer_question(
        store,
        settings,
        "ask_which_procedure",
        "and which one do they do first?",
        discussed=["mbb", "rfa"],
    )
    assert reply.topic == "next_steps" and "RFA" in reply.text
    usual = responder.answer_question(
        store, settings, "ask_which_procedure", "and which one do they do first?"
    )
    assert usual.topic == "which_procedure"
    # Only RFA talked about: RFA and the block it follows.
    after_rfa = responder.answer_question(
        store,
        settings,
        "ask_which_procedure",
        "so which one should come first?",
        current_procedure="rfa",
        discussed=["rfa"],
    )
    assert after_rfa.topic == "next_steps" and "block" in after_rfa.text


def test_where_the_needle_goes_is_what_the_procedure_is_not_how_it_is_guided(
    store, settings
) -> None:
    """`yields_to` on imaging: "where does the needle go?" asks where each one acts;
    "how does the doctor know where to put the needle?" stays the X-ray answer."""
    for placement in ("where does the needle go for it?", "where do they inject the medicine"):
        assert store.intent_meant("ask_imaging", placement, []) == "ask_what_is"
    for guided in (
        "how does the doctor know where to put the needle?",
        "do they use an X-ray to see where the needle goes?",
    ):
        assert store.intent_meant("ask_imaging", guided, []) == "ask_imaging", guided
    reply = ask(store, settings, "ask_what_is", "where does the needle go for it?", ["fji"])
    assert "inside" in reply.text and "X-ray picture" not in reply.text


def test_yields_to_needs_its_pattern_and_a_known_topic(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    with pytest.raises(FactStoreError, match="yields_to"):
        _load_edited_store(tmp_path, lambda d: d["topics"]["next_steps"].pop("yields_when"))
    with pytest.raises(FactStoreError, match="yields_to"):
        _load_edited_store(
            tmp_path, lambda d: d["topics"]["next_steps"].update(yields_to="nowhere")
        )


def test_a_required_pattern_must_be_a_valid_regular_expression(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    with pytest.raises(FactStoreError, match="requires"):
        _load_edited_store(tmp_path, lambda d: d["topics"]["no_relief"].update(requires="(oops"))


def test_which_procedure_treats_the_syndrome_is_how_the_doctor_chooses(store, settings) -> None:
    """ "Which injection treats that?" after facet joint syndrome asks which procedure
    (`treatment_question`), not what the syndrome is."""

    def then(text: str) -> Any:
        return responder.answer_question(
            store, settings, "ask_facet_syndrome", text, (), None, last_topic="facet_syndrome"
        )

    reply = then("which injection treats that?")
    assert reply.topic == "which_procedure" and "facet joint injection" in reply.text
    assert then("what makes it worse?").topic == "facet_syndrome"


def _load_edited_store(tmp_path, edit) -> None:
    """Load data/facts.yml after `edit(document)`: the store must refuse it."""
    import yaml

    from bot.core.facts import load_fact_store
    from bot.core.paths import PROJECT_ROOT

    document = yaml.safe_load((PROJECT_ROOT / "data" / "facts.yml").read_text())
    edit(document)
    path = tmp_path / "facts.yml"
    path.write_text(yaml.safe_dump(document))
    load_fact_store(path)


def test_a_then_topic_must_be_a_known_topic_with_an_intent(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    with pytest.raises(FactStoreError, match="then"):
        _load_edited_store(tmp_path, lambda d: d["topics"]["purpose"].update(then="nothing"))
    with pytest.raises(FactStoreError, match="max_words"):
        _load_edited_store(tmp_path, lambda d: d["sequel"].update(max_words=0))


def test_a_part_choice_needs_two_kinds_a_known_topic_and_procedure(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    for field, value in (("kinds", [["steroid"]]), ("topic", "nothing"), ("procedure", "x")):
        with pytest.raises(FactStoreError, match=field):
            _load_edited_store(
                tmp_path, lambda d, f=field, v=value: d["part_choice"].update({f: v})
            )


def test_an_unpaired_topic_must_be_another_known_topic(tmp_path) -> None:
    from bot.core.facts import FactStoreError

    with pytest.raises(FactStoreError, match="unpaired_topic"):
        _load_edited_store(
            tmp_path, lambda d: d["topics"]["difference"].update(unpaired_topic="difference")
        )


def test_a_fact_said_only_when_asked_needs_the_planner_to_choose_it(store, settings) -> None:
    shared = store.fact("medication_shared")
    assert shared.only_when_asked and set(shared.procedures) == {"fji", "mbb"}
    alone = ask(store, settings, "ask_medication", "what is in a facet injection?", ["fji"])
    assert store.fact("fji_medication").answer in alone.text
    assert shared.answer not in alone.text
    both = ask(store, settings, "ask_medication", "what is in each of them?", ["fji", "mbb"])
    assert both.fact_ids == ("fji_medication", "mbb_medication")
    # Chosen for a question about the block alone, the line setting both side by side
    # gives way to the block's own (see the test below).
    matched = answers.answer_topic(store, "medication", "mbb", chosen={"medication_shared"})
    assert matched.fact_ids == ("mbb_medication",)
    own_too = answers.answer_topic(
        store, "medication", "fji", chosen={"medication_shared", "fji_medication"}
    )
    assert own_too.fact_ids == ("fji_medication",)


def test_the_same_thing_as_another_procedure_is_a_comparison(store, settings) -> None:
    reply = ask(
        store,
        settings,
        "ask_medication",
        "is the same drug put in as for the block?",
        ["mbb"],
        current="rfa",
    )
    assert set(reply.fact_ids) == {"rfa_medication", "mbb_medication"}


def test_a_confirmation_gets_its_yes_or_no_and_the_topic_that_answers_it(store, settings) -> None:
    """ "Is RFA a test too?" read as what RFA is: "No." and what it is for (data/claims.yml)."""
    text = "and is RFA a test too?"
    start = text.index("RFA")
    rfa = {**procedure_entity("rfa"), "start": start, "end": start + 3}
    reply = responder.answer_question(store, settings, "ask_what_is", text, [rfa])
    assert reply.topic == "purpose" and reply.text.startswith("No.\n\n")
    assert store.fact("rfa_purpose").answer in reply.text
    # Nothing to judge: the answer alone.
    plain = responder.answer_question(store, settings, "ask_what_is", "what is RFA?", [rfa])
    assert plain.topic == "what_is" and not plain.text.startswith(("No.", "Yes"))


def test_why_one_lasts_longer_read_as_why_two_blocks_is_about_how_long(store, settings) -> None:
    """ "Why so long compared to the block?" after how long a facet injection lasts: each
    one's duration and the reasons, not why two blocks are done."""
    reply = ask(
        store, settings, "ask_why_two_blocks", "why so long compared to the block?", ["mbb"], "fji"
    )
    assert reply.topic == "duration" and set(reply.compared) == {"fji", "mbb"}
    assert store.fact("fji_medication").answer in reply.text


def test_a_personal_question_answered_from_a_fact_says_the_decision_is_the_teams(
    store, settings
) -> None:
    plan = {"intent": "ask_duration", "facts": ["mbb_duration"], "reason": "personal, fact match"}
    reply = responder.answer_question(
        store, settings, "ask_duration", "the block wore off after a few hours, ok?", plan=plan
    )
    assert reply.text.startswith(answers.personal_note(settings))
    assert store.fact("mbb_duration").answer in reply.text


def test_the_same_answer_for_the_next_procedure_says_it_is_the_same(store, settings) -> None:
    """ "What about the block, same thing?" right after the facet injection's pain answer:
    the same facts answer, and the reply says so; not when they differ or don't cover it."""
    pain = ask(store, settings, "ask_pain", "does the facet joint injection hurt?", ["fji"])
    same = follow_up(store, settings, pain, "what about the block, same thing?", ["mbb"], "fji")
    assert same.text.startswith("The same as for the facet joint injection.")
    assert same.fact_ids == pain.fact_ids
    medicine = ask(store, settings, "ask_medication", "what is in the facet injection?", ["fji"])
    block = follow_up(store, settings, medicine, "and the block?", ["mbb"], "fji")
    assert "The same as" not in block.text
    recovery = ask(store, settings, "ask_recovery", "recovery after a block?", ["mbb"])
    ablation = follow_up(store, settings, recovery, "and after the ablation?", ["rfa"], "mbb")
    assert "The same as" not in ablation.text and "don't cover" in ablation.text
    # A question of its own on the same procedure says nothing of the kind.
    again = follow_up(store, settings, pain, "and the facet one?", ["fji"], "fji")
    assert "The same as" not in again.text


def test_a_shared_line_chosen_for_one_procedure_gives_way_to_its_own_facts(store) -> None:
    """ "What's in the shot?" about the block alone sounded like the line setting both
    procedures' medicines side by side: the block's own medicines answer it."""
    reply = answers.answer_topic(store, "medication", "mbb", chosen={"medication_shared"})
    own = next(f for f in store.facts if f.id == "mbb_medication")
    shared = next(f for f in store.facts if f.id == "medication_shared")
    assert own.answer in reply.text and shared.answer not in reply.text
    # Asked of both, the shared line stays.
    both = answers.answer_topic(
        store, "medication", None, compare=True, named=["fji", "mbb"], chosen={"medication_shared"}
    )
    assert shared.answer in both.text
