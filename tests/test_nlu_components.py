"""The custom NLU components on real Rasa messages and the project's spaCy pipeline."""

from __future__ import annotations

import pytest
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.components import FollowUpOverride, ProcedureEntityExtractor, RedFlagOverride


def message_with_doc(nlp, text: str, intent: str = "ask_pain", confidence: float = 0.8) -> Message:
    message = Message(data={TEXT: text})
    message.set(SPACY_DOCS[TEXT], nlp(text.lower()))
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def test_extractor_emits_canonical_procedure_ids(nlp) -> None:
    message = message_with_doc(nlp, "Is a Facet Shot better than burning the nerves?")
    ProcedureEntityExtractor().process([message])
    entities = message.get("entities")
    assert [(e["entity"], e["value"]) for e in entities] == [
        ("procedure", "fji"),
        ("procedure", "rfa"),
    ]
    assert message.get(TEXT)[entities[0]["start"] : entities[0]["end"]].lower() == "facet shot"
    assert entities[0]["extractor"] == "ProcedureEntityExtractor"


@pytest.mark.parametrize(
    "text, name",
    [
        ("do they use medicine in the burning like they do in the block?", "the burning"),
        ("which lasts longer, the burn or the block?", "the burn"),
        ("is the burning better?", "the burning"),
    ],
)
def test_a_name_ends_before_the_word_that_told_it_apart(nlp, text: str, name: str) -> None:
    """ "The burning" names RFA only before words like "like" or "?" (`name_followers`);
    the entity is the name alone, so the word stays the question's."""
    message = message_with_doc(nlp, text)
    ProcedureEntityExtractor().process([message])
    rfa = [e for e in message.get("entities") if e["value"] == "rfa"]
    assert [text[e["start"] : e["end"]] for e in rfa] == [name]


def test_the_burning_pain_names_no_procedure(nlp) -> None:
    message = message_with_doc(nlp, "the burning pain in my back, what helps?")
    ProcedureEntityExtractor().process([message])
    assert not message.get("entities")


def test_extractor_leaves_messages_without_procedures_alone(nlp) -> None:
    message = message_with_doc(nlp, "does it hurt?")
    ProcedureEntityExtractor().process([message])
    assert not message.get("entities")


def test_override_forces_red_flag_intent(nlp) -> None:
    message = message_with_doc(
        nlp, "how long does it last? my legs keep giving out", "ask_duration", 0.97
    )
    RedFlagOverride().process([message])
    assert message.get("intent") == {"name": "red_flag", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "red_flag"
    assert message.get("intent_ranking")[1]["name"] == "ask_duration"
    summary = message.get("red_flag")
    assert summary["status"] == "present" and summary["urgency"] == "emergency"
    assert summary["present"] == ["leg_weakness"]


def test_override_keeps_ordinary_intents(nlp) -> None:
    message = message_with_doc(nlp, "does the nerve block hurt?", "ask_pain", 0.91)
    RedFlagOverride().process([message])
    assert message.get("intent") == {"name": "ask_pain", "confidence": 0.91}
    assert message.get("red_flag")["status"] == "none"


def ranked(message: Message, ranking) -> Message:
    message.set("intent", dict(ranking[0]))
    message.set("intent_ranking", [dict(item) for item in ranking])
    return message


def test_a_classifier_red_flag_on_a_mere_mention_goes_to_the_next_intent(nlp) -> None:
    ranking = [
        {"name": "red_flag", "confidence": 0.6},
        {"name": "ask_side_effects", "confidence": 0.35},
    ]
    message = ranked(message_with_doc(nlp, "could RFA make my legs weak?"), ranking)
    RedFlagOverride().process([message])
    assert message.get("intent") == {"name": "ask_side_effects", "confidence": 0.35}
    assert message.get("red_flag")["status"] == "mentioned"
    weak = [{"name": "red_flag", "confidence": 0.9}, {"name": "ask_pain", "confidence": 0.05}]
    message = ranked(message_with_doc(nlp, "I had a fever years ago"), weak)
    RedFlagOverride({"fallback_threshold": 0.3}).process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_a_classifier_red_flag_stands_when_the_rules_found_nothing(nlp) -> None:
    ranking = [{"name": "red_flag", "confidence": 0.7}, {"name": "ask_pain", "confidence": 0.2}]
    message = ranked(message_with_doc(nlp, "something is really wrong with me"), ranking)
    RedFlagOverride().process([message])
    assert message.get("intent") == {"name": "red_flag", "confidence": 0.7}


STORY = (
    "I'm a teacher and I can't miss many days at school this spring. My doctor wants "
    "to do a medial branch block soon. How long is the recovery after it?"
)


def test_question_focus_keeps_the_question_tokens_of_a_long_message() -> None:
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    from bot.nlu.components import QuestionFocus, question_text

    message = Message(data={TEXT: STORY})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    QuestionFocus({"long_message_words": 20}).process([message])
    words = [token.text for token in message.get(TOKENS_NAMES[TEXT])]
    assert words == ["How", "long", "is", "the", "recovery", "after", "it"]
    assert question_text(message) == "How long is the recovery after it?"
    # In the parse output too: the actions read a long message's question (its story set aside).
    assert message.as_dict_nlu()["question_text"] == "How long is the recovery after it?"
    # The text itself stays whole: the red-flag layer and the language check read it all.
    assert message.get(TEXT) == STORY


def test_question_focus_leaves_short_messages_whole() -> None:
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    from bot.nlu.components import QuestionFocus, question_text

    message = Message(data={TEXT: "does the block hurt? my friend said so."})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    QuestionFocus().process([message])
    assert len(message.get(TOKENS_NAMES[TEXT])) == 8
    assert question_text(message) == message.get(TEXT)


def test_misspelled_names_are_recognised_but_ordinary_words_are_not(nlp) -> None:
    """data/facts.yml `misspellings` feed the EntityRuler like aliases."""
    for text, expected in (
        ("is ablashun painful", "rfa"),
        ("what is a mediel branch block", "mbb"),
    ):
        message = message_with_doc(nlp, text)
        ProcedureEntityExtractor().process([message])
        assert [e["value"] for e in message.get("entities")] == [expected]
    for text, expected in (
        ("which lasts longer, the cortisone one or getting the nerves burned", ["fji", "rfa"]),
        ("is the one with cortisone the test?", ["fji"]),
    ):
        message = message_with_doc(nlp, text)
        ProcedureEntityExtractor().process([message])
        assert [e["value"] for e in message.get("entities")] == expected
    message = message_with_doc(nlp, "the facts about my joint and a branch")
    ProcedureEntityExtractor().process([message])
    assert message.get("entities") in (None, [])


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("and the block?", "ask_next_steps", "ask_follow_up"),
        ("what about the other one?", "ask_difference", "ask_follow_up"),
        ("ok and after the facet shot?", "ask_recovery", "ask_follow_up"),
        ("does the block have that too?", "ask_purpose", "ask_follow_up"),
        ("does the block use that too?", "ask_purpose", "ask_follow_up"),
        ("how about RFA then", "out_of_scope", "ask_follow_up"),
        (
            "what about the injection that goes into the joint itself?",
            "ask_what_is",
            "ask_follow_up",
        ),
        ("and the medial branch one?", "ask_medial_branch_nerves", "ask_follow_up"),
        # A topic word, or a question about the name itself, is the classifier's to judge.
        ("and how many blocks?", "ask_next_steps", "ask_next_steps"),
        ("what is the block?", "ask_what_is", "ask_what_is"),
        ("does the block hurt?", "ask_pain", "ask_pain"),
        ("is it the same?", "ask_difference", "ask_difference"),
        ("ok thanks", "thanks", "thanks"),
    ],
)
def test_a_bare_fragment_is_a_follow_up(nlp, text, intent, expected) -> None:
    message = message_with_doc(nlp, text, intent, 0.9)
    ProcedureEntityExtractor().process([message])
    FollowUpOverride().process([message])
    assert message.get("intent")["name"] == expected
    if expected != intent:
        assert message.get("intent_ranking")[1]["name"] == intent


@pytest.mark.parametrize(
    "text, intent, confidence, expected",
    [
        # Words about the patient after the name, read unsurely: the last question again.
        ("and the medial branch block he's booked for next?", "ask_next_steps", 0.22, True),
        ("what about the rfa my neighbour had?", "ask_medication", 0.3, True),
        ("and for the block he has next week?", "ask_personal_advice", 0.4, True),
        # A filler before the opener changes nothing.
        ("ok and the ablation my neighbour had?", "ask_medication", 0.45, True),
        # Read surely, or asking a question of its own, it is the classifier's to judge.
        ("and the facet injection hurts too?", "ask_pain", 0.85, False),
        ("and the block, does it hurt?", "ask_pain", 0.4, False),
        ("and the block, what's that for?", "ask_purpose", 0.4, False),
        ("the block he is booked for hurts?", "ask_pain", 0.4, False),
        ("so does the block he's having hurt", "ask_pain", 0.4, False),
    ],
)
def test_a_follow_up_with_words_about_the_patient_asks_the_last_question(
    nlp, text, intent, confidence, expected
) -> None:
    message = message_with_doc(nlp, text, intent, confidence)
    ProcedureEntityExtractor().process([message])
    assert message.get("entities"), "the procedure is named"
    FollowUpOverride().process([message])
    assert (message.get("intent")["name"] == "ask_follow_up") is expected


def test_an_assumed_name_beside_another_subject_names_no_procedure(nlp, store) -> None:
    """ "A cortisone shot in my knee" is not the facet joint injection (`assumed_aliases`)."""
    from bot.core.responder import names_procedure_plainly

    def plainly(text: str) -> bool:
        message = message_with_doc(nlp, text)
        ProcedureEntityExtractor().process([message])
        assert message.get("entities"), text
        return names_procedure_plainly(message.get("entities"), text, store)

    assert not plainly("would a cortisone shot in my knee help?")
    assert not plainly("do you also do cortisone shots for knees?")
    assert plainly("would a facet joint injection help my knee?")


def test_other_subject_only_needs_another_subject_and_no_plain_name(nlp, store) -> None:
    """The one rule the planner and the decline action share (`other_subject_only`)."""
    from bot.core.responder import other_subject_only

    def only(text: str) -> bool:
        message = message_with_doc(nlp, text)
        ProcedureEntityExtractor().process([message])
        return other_subject_only(message.get("entities") or [], text, store)

    assert only("what is recovery like after a lumbar fusion?")
    assert only("would a cortisone shot in my knee help?")
    assert not only("after my lumbar fusion, can I have RFA?")
    assert not only("what is recovery like afterwards?")
    assert only("how is a sacroiliac joint injection done?")
    # Only the question of a long message counts for the subject.
    story = "My physical therapist sent me here. What is facet joint syndrome?"
    assert not other_subject_only([], story, store, "What is facet joint syndrome?")
    assert other_subject_only([], story, store)


def test_sentence_features_only_keeps_sentence_features_and_one_placeholder_token() -> None:
    import numpy as np
    import scipy.sparse
    from rasa.shared.nlu.training_data.features import Features

    from bot.nlu.components import SentenceFeaturesOnly

    tokens = scipy.sparse.coo_matrix(np.eye(4, 50))
    sentence = scipy.sparse.coo_matrix(np.ones((1, 50)))
    message = Message(data={TEXT: "does it hurt?"})
    message.features = [
        Features(tokens, "sequence", TEXT, "CountVectorsFeaturizer"),
        Features(sentence, "sentence", TEXT, "CountVectorsFeaturizer"),
        Features(np.ones((1, 384)), "sentence", TEXT, "SentenceEncoderFeaturizer"),
        Features(np.ones((1, 3)), "sentence", "intent", "CountVectorsFeaturizer"),
    ]
    untouched = Message(data={TEXT: "hi"})  # nothing token-level: left as it is
    untouched.features = [Features(np.ones((1, 384)), "sentence", TEXT, "x")]

    SentenceFeaturesOnly().process([message, untouched])

    sequence, sentences = message.get_sparse_features(TEXT)
    assert sequence is None and sentences.features.shape == (1, 50)
    dense_sequence, dense_sentence = message.get_dense_features(TEXT)
    assert dense_sequence.features.shape == (1, 1) and not dense_sequence.features.any()
    assert dense_sentence.features.shape == (1, 384)
    assert [f.attribute for f in message.features].count("intent") == 1
    assert len(untouched.features) == 1


def test_token_features_are_dropped_only_before_a_diet_that_cannot_read_them() -> None:
    """SentenceFeaturesOnly is sound only while DIET has no transformer (nothing mixes
    token positions into the sentence one) and no entity recognition or masked language
    model (the only readers of token positions), and it sits after every featurizer."""
    import yaml

    from bot.core.paths import PROJECT_ROOT

    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    names = [step["name"] for step in pipeline]
    placeholder = names.index("bot.nlu.components.SentenceFeaturesOnly")
    diet_index = names.index("DIETClassifier")
    featurizers = [i for i, name in enumerate(names) if "Featurizer" in name]
    assert max(featurizers) < placeholder < diet_index
    diet = pipeline[diet_index]
    assert diet["number_of_transformer_layers"] == 0
    assert diet["entity_recognition"] is False
    assert not diet.get("use_masked_language_model", False)
    assert names.count("DIETClassifier") == 1
    assert not any("ResponseSelector" in name for name in names)
