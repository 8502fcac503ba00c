"""Every custom action, run with real SDK Tracker and CollectingDispatcher objects."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as act
from bot.core import safety
from tests.conftest import make_tracker, procedure_entity


def flagged(text: str, intent: str, **kwargs):
    """A tracker whose message carries the red-flag summary the NLU pipeline computes."""
    return make_tracker(text, intent, red_flag=safety.assess(text).summary(), **kwargs)


TOPIC_INTENTS = [
    "ask_what_is",
    "ask_difference",
    "ask_medication",
    "ask_imaging",
    "ask_purpose",
    "ask_duration",
    "ask_pain",
    "ask_recovery",
    "ask_side_effects",
    "ask_rfa_candidate",
    "ask_next_steps",
    "ask_why_two_blocks",
    "ask_no_relief",
    "ask_which_procedure",
    "ask_insurance",
    "ask_facet_joints",
    "ask_facet_syndrome",
    "ask_medial_branch_nerves",
    "ask_back_pain_common",
]


@pytest.fixture(autouse=True)
def clinic(monkeypatch, tmp_path):
    """Known clinic settings for every action test."""
    monkeypatch.setenv("CLINIC_NAME", "Test Spine Clinic")
    monkeypatch.setenv("CLINIC_PHONE", "555-0100")
    monkeypatch.setenv("CLINIC_CONFIG", "")


async def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1, "each action sends exactly one message"
    return dispatcher.messages[0], events


def test_action_names_match_the_domain(domain) -> None:
    names = {
        cls().name()
        for cls in vars(act).values()
        if isinstance(cls, type) and issubclass(cls, act.Action) and cls is not act.Action
    }
    assert names == set(domain["actions"])


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
@pytest.mark.parametrize("procedure", [None, "fji", "mbb", "rfa"])
async def test_answer_question_for_every_topic_and_procedure(store, domain, intent, procedure):
    entities = [procedure_entity(procedure)] if procedure else []
    tracker = make_tracker("a patient question", intent, entities)
    message, events = await run(act.ActionAnswerQuestion(), tracker, domain)
    topic = store.topic_for_intent(intent)
    assert "Source" in message["text"]
    assert any(fact.answer in message["text"] for fact in store.facts_for(topic.id))
    assert 1 <= len(message["buttons"]) <= 3
    # What comes after a block is RFA: it becomes the procedure under discussion
    # (`leads_to`), unless the question was about a procedure those facts are not about.
    kept = topic.leads_to if topic.leads_to and procedure in (None, "mbb", "rfa") else procedure
    expected = [SlotSet("procedure", kept)] if kept else []
    expected.append(SlotSet("topic", topic.id))
    remembered = ("compared", "discussed")
    assert [event for event in events if event["name"] not in remembered] == expected
    # What a side-by-side answer compared; a one-procedure answer leaves the empty slot
    # as it is (no event).
    for compared in (event for event in events if event["name"] == "compared"):
        assert len(compared["value"]) > 1
    # Every procedure the answer was about joins those discussed.
    for discussed in (event for event in events if event["name"] == "discussed"):
        assert kept is None or kept in discussed["value"]


async def test_follow_up_reads_the_slot(store, domain) -> None:
    tracker = make_tracker("how long does it last?", "ask_duration", slots={"procedure": "fji"})
    message, events = await run(act.ActionAnswerQuestion(), tracker, domain)
    assert message["text"].startswith(store.fact("fji_duration").answer)
    # The procedure slot already holds "fji": no event repeats it; it is now discussed.
    assert events == [SlotSet("topic", "duration"), SlotSet("discussed", ["fji"])]


async def test_an_unsure_guess_after_an_answer_stays_on_its_topic(store, domain) -> None:
    """`context_prior`: "why do they matter?" after the nerves, guessed as facet joints."""
    ranking = [
        {"name": "ask_facet_joints", "confidence": 0.3},
        {"name": "ask_medial_branch_nerves", "confidence": 0.25},
    ]
    slots = {"topic": "medial_branch_nerves"}
    tracker = make_tracker("why do they matter?", "ask_facet_joints", [], slots, ranking)
    message, events = await run(act.ActionAnswerQuestion(), tracker, domain)
    nerves = store.facts_for("medial_branch_nerves")
    assert any(fact.answer in message["text"] for fact in nerves)
    assert not events  # still the topic the slot holds
    # A procedure named in the message: the guess stands.
    named = make_tracker(
        "why does the block matter?", "ask_facet_joints", [procedure_entity("mbb")], slots, ranking
    )
    message, events = await run(act.ActionAnswerQuestion(), named, domain)
    assert SlotSet("topic", "facet_joints") in events


async def test_answer_question_gives_emergency_advice_on_a_red_flag(domain) -> None:
    tracker = flagged("does it hurt? also my groin is numb", "ask_pain")
    message, events = await run(act.ActionAnswerQuestion(), tracker, domain)
    assert "911" in message["text"] and not message["buttons"]
    assert message["custom"] == {"urgency": "emergency"}
    assert events == []


async def test_a_question_about_a_sign_is_answered_with_the_safety_net(store, domain) -> None:
    tracker = flagged("is leg weakness a side effect of RFA?", "ask_side_effects")
    message, _ = await run(act.ActionAnswerQuestion(), tracker, domain)
    text = message["text"]
    assert store.fact("side_effects_soreness").answer in text
    net = safety.current_rules().safety_net["emergency"]
    assert net in text and text.index(net) < text.index("Source")
    assert not message["custom"]


async def test_a_mere_mention_gets_no_safety_net_and_no_urgency(domain) -> None:
    tracker = flagged("no fever, how long is the recovery?", "ask_recovery")
    message, _ = await run(act.ActionAnswerQuestion(), tracker, domain)
    assert "911" not in message["text"] and not message["custom"]


@pytest.mark.parametrize(
    "text, must_contain, urgency",
    [
        ("I think about killing myself", "988", "crisis"),
        ("I can't hold my bladder anymore", "911", "emergency"),
        ("fever and the injection site is swollen", "infection", "infection"),
        ("something is really wrong", "911", "emergency"),  # classifier-only: general
    ],
)
async def test_red_flag_advice(domain, text, must_contain, urgency) -> None:
    message, _ = await run(act.ActionGiveRedFlagAdvice(), flagged(text, "red_flag"), domain)
    assert must_contain in message["text"]
    assert "555-0100" in message["text"]
    assert message["custom"] == {"urgency": urgency}


@pytest.mark.parametrize("intent", ["greet", "ask_pain", "out_of_scope", "ask_uncovered"])
async def test_no_other_reply_carries_an_urgency(domain, intent) -> None:
    action = {
        "greet": act.ActionGreetPatient(),
        "ask_pain": act.ActionAnswerQuestion(),
        "out_of_scope": act.ActionDeclineOutOfScope(),
        "ask_uncovered": act.ActionExplainUncovered(),
    }[intent]
    message, _ = await run(action, flagged("a question", intent), domain)
    assert not message["custom"]


async def test_greet_patient_shows_disclaimer_and_topics(domain) -> None:
    message, events = await run(act.ActionGreetPatient(), make_tracker("hi", "greet"), domain)
    assert "not medical advice" in message["text"]
    assert len(message["buttons"]) == 3 and events == []


async def test_personal_advice_refers_to_the_care_team(domain) -> None:
    tracker = make_tracker("is the steroid safe for me with diabetes?", "ask_personal_advice")
    message, _ = await run(act.ActionReferPersonalAdvice(), tracker, domain)
    assert "care team" in message["text"] and "555-0100" in message["text"]


async def test_uncovered_subject_is_named(domain) -> None:
    tracker = make_tracker("do I stop my blood thinners?", "ask_uncovered")
    message, _ = await run(act.ActionExplainUncovered(), tracker, domain)
    assert "don't cover blood thinners" in message["text"]


async def test_clinic_contact_comes_from_settings(domain) -> None:
    tracker = make_tracker("can I talk to a person", "request_human")
    message, _ = await run(act.ActionShareClinicContact(), tracker, domain)
    assert "Test Spine Clinic at 555-0100" in message["text"]


async def test_rephrase_offers_the_likeliest_topics(store, domain) -> None:
    ranking = [
        {"name": "nlu_fallback"},
        {"name": "ask_insurance"},
        {"name": "greet"},
        {"name": "ask_pain"},
    ]
    tracker = make_tracker("hmm the thing", "nlu_fallback", intent_ranking=ranking)
    message, _ = await run(act.ActionRephrase(), tracker, domain)
    titles = [button["title"] for button in message["buttons"]]
    assert titles[:2] == [store.topics["insurance"].question, store.topics["pain"].question]


async def test_out_of_scope_is_declined(domain) -> None:
    tracker = make_tracker("what's the weather", "out_of_scope")
    message, _ = await run(act.ActionDeclineOutOfScope(), tracker, domain)
    assert "only answer questions about" in message["text"]


async def test_an_out_of_scope_guess_about_a_procedure_is_not_covered_instead(domain) -> None:
    fasting = make_tracker("do I have to fast before the block?", "out_of_scope")
    message, _ = await run(act.ActionDeclineOutOfScope(), fasting, domain)
    assert "don't cover eating or drinking before the procedure" in message["text"]
    golf = make_tracker("can I golf after RFA?", "out_of_scope", [procedure_entity("rfa")])
    message, _ = await run(act.ActionDeclineOutOfScope(), golf, domain)
    assert "don't cover that question" in message["text"]
    assert "only answer questions about" not in message["text"]


async def test_a_question_about_another_subject_is_declined_even_if_not_covered(domain) -> None:
    """ "How much ibuprofen a day?" names a not-covered subject (medicines) but asks about
    none of the procedures (`other_subjects`): declined, not "the articles don't cover"."""
    tracker = make_tracker("how many ibuprofen can i take in one day max", "out_of_scope")
    message, _ = await run(act.ActionDeclineOutOfScope(), tracker, domain)
    assert "only answer questions about" in message["text"]
    block = make_tracker(
        "can I take ibuprofen after the block?", "out_of_scope", [procedure_entity("mbb")]
    )
    message, _ = await run(act.ActionDeclineOutOfScope(), block, domain)
    assert "don't cover" in message["text"]
    # "Steroid injections" is a name only assumed to mean the facet joint injection.
    text = "Can you tell me about epidural steroid injections?"
    assumed = {**procedure_entity("fji"), "start": text.index("steroid"), "end": len(text) - 1}
    epidural = make_tracker(text, "out_of_scope", [assumed])
    message, _ = await run(act.ActionDeclineOutOfScope(), epidural, domain)
    assert "only answer questions about" in message["text"]


async def test_an_unclassified_question_about_my_own_medicine_goes_to_the_care_team(domain):
    tracker = make_tracker("how much ibuprofen can I take after my shot?", "nlu_fallback")
    message, _ = await run(act.ActionRephrase(), tracker, domain)
    assert "care team" in message["text"] and "not sure I understood" not in message["text"]


async def test_a_long_message_names_its_procedure_anywhere(domain) -> None:
    """Out of scope by the classifier, but the story named RFA and the question points at it."""
    text = "My RFA is on Tuesday and I love golf. Can I play the day after?"
    rfa = {**procedure_entity("rfa"), "start": text.index("RFA"), "end": text.index("RFA") + 3}
    tracker = make_tracker(text, "out_of_scope", [rfa], question="Can I play the day after?")
    message, _ = await run(act.ActionDeclineOutOfScope(), tracker, domain)
    assert "don't cover that question" in message["text"]


async def test_a_side_by_side_answer_remembers_what_it_compared(domain) -> None:
    tracker = make_tracker(
        "which lasts longer, fji or mbb?",
        "ask_duration",
        [procedure_entity("fji"), procedure_entity("mbb")],
    )
    _, events = await run(act.ActionAnswerQuestion(), tracker, domain)
    assert SlotSet("compared", ["fji", "mbb"]) in events
    why = make_tracker(
        "why is that?",
        "ask_more",
        slots={"procedure": "mbb", "topic": "duration", "compared": ["fji", "mbb"]},
    )
    message, events = await run(act.ActionAnswerQuestion(), why, domain)
    assert "weeks to months" in message["text"] and "hours to days" in message["text"]
    single = make_tracker(
        "how long does the block last?",
        "ask_duration",
        [procedure_entity("mbb")],
        slots={"compared": ["fji", "mbb"]},
    )
    _, events = await run(act.ActionAnswerQuestion(), single, domain)
    assert SlotSet("compared", None) in events


async def test_back_to_the_first_one_is_the_first_procedure_discussed(domain) -> None:
    _, events = await run(
        act.ActionAnswerQuestion(),
        make_tracker("how long does it last?", "ask_duration", [procedure_entity("fji")]),
        domain,
    )
    assert SlotSet("discussed", ["fji"]) in events
    then = make_tracker(
        "and the block?",
        "ask_follow_up",
        [procedure_entity("mbb")],
        slots={"procedure": "mbb", "topic": "duration", "discussed": ["fji"]},
    )
    _, events = await run(act.ActionAnswerQuestion(), then, domain)
    assert SlotSet("discussed", ["fji", "mbb"]) in events
    back = make_tracker(
        "ok back to the first one, does it have a steroid in it?",
        "ask_medication",
        slots={"procedure": "mbb", "topic": "duration", "discussed": ["fji", "mbb"]},
    )
    message, _ = await run(act.ActionAnswerQuestion(), back, domain)
    assert "steroid and a local anesthetic" in message["text"]


async def test_a_comparison_with_the_procedure_discussed_before_this_message(domain) -> None:
    # The slot already holds this message's own entity (from_entity mapping); the
    # procedure discussed before it comes from the history.
    tracker = make_tracker(
        "is it the same as a facet injection?",
        "ask_follow_up",
        entities=[procedure_entity("fji")],
        slots={"procedure": "fji", "topic": "what_is"},
    )
    tracker.events = [
        {"event": "session_started"},
        {"event": "user", "text": "what is an mbb"},
        {"event": "slot", "name": "procedure", "value": "mbb"},
        {"event": "bot", "text": "..."},
        {"event": "slot", "name": "topic", "value": "what_is"},
        *tracker.events,
        {"event": "slot", "name": "procedure", "value": "fji"},
    ]
    message, events = await run(act.ActionAnswerQuestion(), tracker, domain)
    assert SlotSet("topic", "difference") in events
    assert message["text"].startswith("No, they are not the same")


async def test_each_further_question_of_a_message_gets_its_own_answer(domain) -> None:
    """A message asking several things (bot/nlu/several_questions.py): the main answer,
    then one message per further question, quoting it, for the procedure the message
    names; the topic already answered and a red flag's advice get nothing added."""
    text = "How much does RFA cost? Does it hurt? And what is it?"
    tracker = make_tracker(text, "ask_uncovered", [procedure_entity("rfa")])
    tracker.latest_message["further_questions"] = [
        {"text": "Does it hurt?", "start": 24, "intent": "ask_pain", "entities": []},
        {"text": "How much does RFA cost?", "start": 0, "intent": "ask_uncovered"},
    ]
    dispatcher = CollectingDispatcher()
    await act.ActionExplainUncovered().run(dispatcher, tracker, domain)
    texts = [message["text"] for message in dispatcher.messages]
    assert len(texts) == 2, "the cost is said once"
    assert "cost" in texts[0]
    assert texts[1].startswith('About "Does it hurt?":')
    assert "radiofrequency ablation" in texts[1]
    assert dispatcher.messages[1]["buttons"] == []

    text = "Does the block hurt? And how long is the recovery?"
    tracker = make_tracker(text, "ask_recovery", [procedure_entity("mbb")])
    tracker.latest_message["further_questions"] = [
        {"text": "Does the block hurt?", "start": 0, "intent": "ask_pain"},
        {"text": "And how long is the recovery?", "start": 21, "intent": "ask_recovery"},
    ]
    dispatcher = CollectingDispatcher()
    await act.ActionAnswerQuestion().run(dispatcher, tracker, domain)
    texts = [message["text"] for message in dispatcher.messages]
    # In the message's order, the recovery (the main answer) once.
    assert len(texts) == 2 and texts[0].startswith('About "Does the block hurt?":')
    assert "numbs your skin" in texts[0] and "Recovery" in texts[1]

    # A question outside these procedures is told so, once; a topic question naming a
    # subject already said not covered gets no neighbouring fact ("what percent ... after
    # RFA?" read alone as who is a candidate, whose answer has the one figure given).
    text = "What percent of people are pain free after RFA? And any pizza tips?"
    tracker = make_tracker(text, "ask_uncovered", [procedure_entity("rfa")])
    tracker.latest_message["further_questions"] = [
        {"text": text[:46], "start": 0, "intent": "ask_rfa_candidate", "entities": []},
        {"text": "And any pizza tips?", "start": 47, "intent": "out_of_scope"},
        {"text": "Or a pizza place?", "start": 70, "intent": "out_of_scope"},
    ]
    dispatcher = CollectingDispatcher()
    await act.ActionExplainUncovered().run(dispatcher, tracker, domain)
    texts = [message["text"] for message in dispatcher.messages]
    assert len(texts) == 2, texts
    assert "in numbers" in texts[0] and "80" not in " ".join(texts)
    assert texts[1].startswith('About "And any pizza tips?":') and "I can only" in texts[1]

    # A question too unsure to answer is told so, quoted, with no guess at an answer.
    text = "Can RFA cause numbness in my leg? How does RFA work?"
    tracker = make_tracker(text, "ask_what_is", [procedure_entity("rfa")])
    tracker.latest_message["further_questions"] = [
        {"text": text[:33], "start": 0, "intent": "ask_side_effects", "unsure": True},
        {"text": text[34:], "start": 34, "intent": "ask_what_is"},
    ]
    dispatcher = CollectingDispatcher()
    await act.ActionAnswerQuestion().run(dispatcher, tracker, domain)
    texts = [message["text"] for message in dispatcher.messages]
    assert len(texts) == 2 and texts[0].startswith('About "Can RFA cause numbness')
    assert "not sure I understood" in texts[0] and "soreness" not in texts[0]
    assert "heat" in texts[1]

    emergency = "I can't feel my legs since this morning. Does the block hurt? Is it safe?"
    tracker = flagged(emergency, "red_flag")
    tracker.latest_message["further_questions"] = [
        {"text": "Does the block hurt?", "start": 40, "intent": "ask_pain"}
    ]
    dispatcher = CollectingDispatcher()
    await act.ActionGiveRedFlagAdvice().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1
