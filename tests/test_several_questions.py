"""A message asking several things: which sentences are read alone, which readings add an
answer (bot/nlu/several_questions.py)."""

from __future__ import annotations

from bot.nlu.several_questions import (
    FURTHER_KEY,
    further_questions,
    main_reading,
    questions_to_read,
)

TOPICS = frozenset({"ask_pain", "ask_recovery", "ask_duration"})


PROCEDURE = {"entity": "procedure", "value": "mbb"}


def reading(text: str, intent: str, confidence: float = 0.9, **extra):
    return {"text": text, "intent": {"name": intent, "confidence": confidence}, **extra}


def test_each_question_of_a_message_asking_two_or_three_is_read() -> None:
    text = "My back is bad. Does the block hurt? And how long is the recovery?"
    assert [text[a:b] for a, b in questions_to_read(text)] == [
        "Does the block hurt?",
        "And how long is the recovery?",
    ]
    # Asked without its "?", a sentence that starts like a question still asks.
    assert len(questions_to_read("Does it hurt? so how long does it last")) == 2
    assert questions_to_read("Does the block hurt? I'm nervous.") == []
    four = "Does it hurt? Is it safe? How long is recovery? What does it cost?"
    assert questions_to_read(four) == []


def test_two_questions_joined_by_and_in_one_sentence_are_each_read() -> None:
    text = "is the block a test, and what happens next if it works?"
    assert [text[a:b] for a, b in questions_to_read(text)] == [
        "is the block a test",
        "what happens next if it works?",
    ]
    three = "What is it and how long does it last and does it hurt?"
    assert len(questions_to_read(three)) == 3
    for joined in (
        "Can you tell me a joke, and also does the shot use steroid?",
        "What is a facet joint plus how does the block work?",
        "does the block hurt, how long is the recovery?",
        "two q's. 1) what's a facet joint 2) where does the needle go",
    ):
        assert len(questions_to_read(joined)) == 2, joined
    # A comparison after the first question is a question of its own.
    text = "What are the long-term effects of RFA, and how is it different from a block?"
    assert len(questions_to_read(text)) == 2
    for one in (
        # A comma after a condition, "which ..." or "what about ..." joins one question.
        "What if the block does not work, what happens next?",
        "which lasts longer, is it the block or the injection?",
        "what about rfa, can that be repeated?",
        # "and" joining the things a question is about, or a story to a question.
        "What is the difference between the block and what the injection does?",
        "I had the block and how long does it last?",
        "how does it work and why?",
        "Which one goes after the nerves and which one goes into the joint?",
    ):
        assert questions_to_read(one) == [], one


def test_a_sure_reading_of_another_topic_is_answered_too() -> None:
    own = reading("Does the block hurt? And how long is the recovery?", "ask_recovery")
    readings = [
        ((0, 20), reading("Does the block hurt?", "ask_pain", entities=[{"entity": "procedure"}])),
        ((21, 50), reading("And how long is the recovery?", "ask_recovery")),
    ]
    further = further_questions(own, readings, TOPICS)
    # The message's own topic stays: the actions skip the topic their answer gave.
    assert [(f["text"], f["intent"], f["start"]) for f in further] == [
        ("Does the block hurt?", "ask_pain", 0),
        ("And how long is the recovery?", "ask_recovery", 21),
    ]
    assert further[0]["entities"] == [{"entity": "procedure"}]


def test_unsure_repeated_or_off_topic_readings_add_nothing() -> None:
    own = reading("...", "ask_recovery")
    readings = [
        ((0, 10), reading("They can't both be right, can they?", "ask_pain", confidence=0.3)),
        ((11, 20), reading("What's the recovery like?", "ask_recovery")),
        ((21, 30), reading("Hello there, how are you?", "greet")),
        ((31, 40), reading("Is it sore?", "ask_pain", confidence=0.8)),
        ((41, 50), reading("Will it hurt a lot?", "ask_pain", confidence=0.95)),
    ]
    assert [f["text"] for f in further_questions(own, readings, TOPICS)] == [
        "What's the recovery like?",
        "Is it sore?",
    ]
    # Questions the articles don't cover are each kept: each may name another subject.
    uncovered = [
        ((0, 9), reading("Cost?", "ask_uncovered")),
        ((10, 19), reading("Drive?", "ask_uncovered")),
    ]
    assert len(further_questions(own, uncovered, TOPICS)) == 2


def test_a_message_that_answers_nothing_gets_no_further_answers() -> None:
    readings = [((0, 10), reading("Does it hurt?", "ask_pain"))]
    for intent in ("greet", "nlu_fallback", "red_flag"):
        assert further_questions(reading("...", intent), readings, TOPICS) == []
    # Not covered, personal and unrelated questions are answered: the rest is answered too.
    named = [((0, 10), reading("Does the block hurt?", "ask_pain", entities=[PROCEDURE]))]
    for intent in ("ask_uncovered", "ask_personal_advice", "out_of_scope"):
        assert len(further_questions(reading("...", intent), named, TOPICS)) == 1
    # After a question on another subject, a question pointing back and naming none of
    # ours is about that subject ("cortisone shots in the knee? how long do those last?").
    those = [((0, 10), reading("How long do those last?", "ask_duration"))]
    assert further_questions(reading("...", "out_of_scope"), those, TOPICS) == []
    assert len(further_questions(reading("...", "ask_uncovered"), those, TOPICS)) == 1
    # A question outside these procedures beside ours is kept, to be told so.
    pizza = [((0, 10), reading("And any pizza tips?", "out_of_scope"))]
    assert [q["intent"] for q in further_questions(reading("...", "ask_pain"), pizza, TOPICS)] == [
        "out_of_scope"
    ]
    assert FURTHER_KEY == "further_questions"


def test_a_reading_that_blends_the_questions_gives_way_to_the_last_one() -> None:
    """Read whole, "can RFA cause leg numbness? how does RFA work?" was the medicines,
    which neither question asks: the last question's sure reading is the message's; the
    rest of the parse stays the message's own."""
    own = reading("...", "ask_duration", entities=["rfa"], red_flag={"status": "none"})
    readings = [
        ((0, 10), reading("Does it hurt?", "ask_pain", confidence=0.3)),
        ((11, 20), reading("How long is the recovery?", "ask_recovery", answer_plan={"x": 1})),
    ]
    main = main_reading(own, readings, TOPICS)
    assert main["intent"]["name"] == "ask_recovery" and main["answer_plan"] == {"x": 1}
    assert main["entities"] == ["rfa"] and main["red_flag"] == {"status": "none"}
    assert main["read_as_last_question"] is True
    # Kept: one of the questions reads as it; read with the previous message; an unsure
    # last question; not a topic.
    assert (
        main_reading(reading("...", "ask_pain"), readings, TOPICS)["intent"]["name"] == "ask_pain"
    )
    in_context = {**own, "read_in_context": True}
    assert main_reading(in_context, readings, TOPICS) is in_context
    unsure = [readings[1], ((21, 30), reading("And is it safe?", "ask_recovery", 0.2))]
    assert main_reading(own, unsure, TOPICS) is own
    greeting = reading("...", "greet")
    assert main_reading(greeting, readings, TOPICS) is greeting
    # A last question leaning on the story ("did it fail") does not stand in for it.
    leaning = [readings[0], ((21, 30), reading("did it fail", "ask_recovery", 0.9))]
    assert main_reading(own, leaning, TOPICS) is own


def test_an_unsure_question_standing_alone_is_told_it_was_not_understood() -> None:
    """Not dropped in silence: "can RFA cause numbness in my leg?" read alone too unsure
    to answer is marked, to be told so; a question leaning on the story ("is that
    typical?"), a short fragment, or one read as the message's own topic is not."""
    own = reading("...", "ask_what_is")
    readings = [
        ((0, 30), reading("Can RFA cause numbness in my leg?", "ask_side_effects", 0.3)),
        ((31, 40), reading("Is that typical?", "ask_duration", 0.3)),
        ((41, 50), reading("Which the joint?", "ask_duration", 0.3)),
        ((51, 60), reading("How does RFA really work?", "ask_what_is", 0.3)),
        ((61, 70), reading("Hello there, how are you?", "greet", 0.3)),
    ]
    further = further_questions(own, readings, TOPICS | {"ask_side_effects", "ask_what_is"})
    assert [(q["text"], q.get("unsure")) for q in further] == [
        ("Can RFA cause numbness in my leg?", True)
    ]


def test_a_message_not_understood_whole_takes_its_surest_questions_reading() -> None:
    """Read whole, two questions can blur into "please rephrase"; a question understood
    alone (sure, or very close to a fact of its topic) is then the message's reading."""
    own = reading("...", "nlu_fallback", 0.15, entities=["rfa"])
    readings = [
        ((0, 10), reading("Why the block first?", "ask_pain", 0.3, answer_plan=close(0.85))),
        ((11, 20), reading("why not go straight on", "ask_recovery", 0.2)),
    ]
    main = main_reading(own, readings, TOPICS)
    assert main["intent"]["name"] == "ask_pain" and main["read_as_sure_question"] is True
    assert main["entities"] == ["rfa"]
    # Nobody sure and no close fact: still the request to rephrase.
    vague = [((0, 10), reading("Why the block first?", "ask_pain", 0.3, answer_plan=close(0.6)))]
    assert main_reading(own, vague + readings[1:], TOPICS) is own
    # A question read as no topic does not stand in for the message.
    greeting = [((0, 10), reading("hello there you", "greet", 0.99))]
    assert main_reading(own, greeting, TOPICS) is own


def close(similarity: float):
    return {"best_fact_similarity": similarity}
