"""Which part of a long message is its question (bot/nlu/focus.py)."""

from __future__ import annotations

from bot.nlu.focus import question_of, question_sentences


def test_the_last_question_of_a_long_message_is_its_focus() -> None:
    text = (
        "I have had back pain for years and tried everything. My doctor is kind. "
        "The pharmacy is far from my house and parking is hard. Does the block hurt?"
    )
    assert question_of(text, 25, 3) == "Does the block hurt?"


def test_a_question_before_a_closing_remark_is_still_the_focus() -> None:
    text = (
        "My pain doctor wants to do the nerve test first and maybe burn the nerves later. "
        "What is the point of the block if it does not fix anything? I am just confused, sorry."
    )
    assert question_of(text, 25, 3) == (
        "What is the point of the block if it does not fix anything?"
    )


def test_a_short_question_keeps_the_sentence_it_points_to() -> None:
    text = (
        "I had the facet joint injection in March and it helped for about three months, "
        "then the ache came back slowly over a couple of weeks. Is that normal?"
    )
    assert question_of(text, 20, 6) == text


def test_a_short_question_weighing_the_story_keeps_the_sentence_before() -> None:
    text = "The spot where the needle went in is tender but a bit better today. Should I worry?"
    assert question_of(text, 12, 6) == text


def test_short_questions_pointing_back_in_a_row_keep_the_story_before_them() -> None:
    text = "The shot helped for an afternoon and then the ache came back. Is that ok?? Did it work"
    assert question_of(text, 12, 6) == text


def test_a_fragment_carrying_the_question_on_is_read_as_the_question_before_it() -> None:
    """ "... a test or a treatment? And the facet shot?" asks the question before it again:
    read alone, "And the facet shot?" says nothing of what is asked, and its "and what
    about" would read as a bare follow-up. Its procedure is found in the whole message."""
    text = (
        "My doctor said maybe a block. Is the nerve block a test or a treatment? And the facet one?"
    )
    assert question_of(text, 12, 6) == "Is the nerve block a test or a treatment?"
    # A fragment that is a whole question of its own stays alone.
    long = (
        "Is the nerve block a test or a treatment? And how long does the facet one last for most?"
    )
    assert question_of(long, 12, 6) == "And how long does the facet one last for most?"


def test_a_question_restating_the_one_before_is_read_with_it() -> None:
    """ "Like, ..." or "I mean, ..." says the question before it again: alone it loses
    what it is about, and it is no second question."""
    text = "Does the facet shot sting going in? I mean, is it a really painful thing to go through?"
    assert question_of(text, 12, 6) == text
    assert question_sentences(text) == [(0, len(text))]
    # A second question that does not restate stays a question of its own.
    two = "Does the facet shot sting going in? And how long is the recovery after it?"
    assert len(question_sentences(two)) == 2
    assert question_of(two, 12, 6) == "And how long is the recovery after it?"


def test_short_or_single_sentence_messages_are_read_whole() -> None:
    assert question_of("does the block hurt?", 25, 6) is None
    one_sentence = " ".join(["word"] * 30) + "?"
    assert question_of(one_sentence, 25, 6) is None


def test_without_a_question_mark_the_last_sentence_is_the_focus() -> None:
    text = (
        "Been dealing with this ache in my lower back for ages and my doctor finally "
        "booked me in. Tell me how long the numbness from the block lasts please"
    )
    assert question_of(text, 20, 6) == "Tell me how long the numbness from the block lasts please"


def test_a_short_question_that_stands_alone_is_read_alone() -> None:
    text = (
        "Everyone at the clinic keeps saying facet this and facet that and I just nod. "
        "What are facet joints anyway?"
    )
    assert question_of(text, 12, 6) == "What are facet joints anyway?"


def test_a_question_typed_without_its_mark_after_a_quoted_doubt_is_the_focus() -> None:
    text = (
        "The block helped for an afternoon and then my back ached again, my brother says "
        "that means it failed?? how long is a medial branch block meant to help"
    )
    assert question_of(text, 20, 6) == "how long is a medial branch block meant to help"
    closing = (
        "My pain doctor wants to do the nerve test first and maybe burn the nerves later. "
        "What is the point of the block if it does not fix anything? Thanks so much, sorry."
    )
    assert question_of(closing, 25, 3) == (
        "What is the point of the block if it does not fix anything?"
    )


def test_procedure_names_do_not_make_a_fragment_long() -> None:
    """ "And what about a facet joint injection?" is a fragment however long the name."""
    from bot.nlu.focus import question_span

    text = "Is a nerve block a test or a treatment? And what about a facet joint injection?"
    name = text.index("facet joint injection")
    span = question_span(text, 12, 6, [(name, name + len("facet joint injection"))])
    assert span is not None and text[span[0] : span[1]] == "Is a nerve block a test or a treatment?"
    # Without the name known, it has words enough to stand alone.
    assert question_of(text, 12, 6) == "And what about a facet joint injection?"


def test_a_question_mark_inside_brackets_does_not_end_the_sentence() -> None:
    text = (
        "ok so between the joint injection, the nerve block and the burning thing (rfa?) "
        "which one lasts the longest and how long do the others last"
    )
    # One sentence: read whole, not cut at "(rfa?".
    assert question_of(text, 12, 6) is None


def test_an_indirect_question_after_the_last_question_mark_is_the_focus() -> None:
    text = (
        "is a fever after a facet injection a thing? I don't have one, just asking what "
        "the usual aftereffects are"
    )
    assert (
        question_of(text, 12, 6) == "I don't have one, just asking what the usual aftereffects are"
    )
    story = "My back hurts most days. I was wondering how long the block lasts"
    assert question_of(story, 12, 6) == "I was wondering how long the block lasts"
    # Someone else asking is no question of the patient's.
    told = "My friend had one. She was asking around about it. Does the block hurt?"
    assert question_of(told, 12, 6) == "Does the block hurt?"
