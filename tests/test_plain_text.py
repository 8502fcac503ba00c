"""Plain-text rendering for SMS/WhatsApp: numbered choices, splitting, number replies."""

from __future__ import annotations

import re

import pytest

from bot.channels import plain_text
from bot.channels.plain_text import (
    ChoiceMemory,
    choices_prompt,
    max_chars_from_env,
    parse_choice_number,
    render_message,
    render_parts,
    resolve_choice,
    split_text,
)
from bot.core.answers import answer_topic

PREFIX = re.compile(r"^\((\d+)/(\d+)\) ")


def buttons(*titles: str) -> list:
    return [{"title": title, "payload": f"payload {title}"} for title in titles]


def unprefixed(parts: list) -> list:
    return [PREFIX.sub("", part) for part in parts]


def words(text: str) -> list:
    return text.split()


# --- the choices prompt and rendering ------------------------------------------------


@pytest.mark.parametrize(
    "count, expected",
    [
        (1, "Reply 1."),
        (2, "Reply 1 or 2."),
        (3, "Reply 1, 2 or 3."),
        (4, "Reply 1, 2, 3 or 4."),
    ],
)
def test_choices_prompt_is_grammatical(count: int, expected: str) -> None:
    assert choices_prompt(count) == expected


def test_no_choices_no_prompt() -> None:
    assert choices_prompt(0) == ""
    assert render_message("Hello.", []) == "Hello."


def test_buttons_become_numbered_lines_and_prompt() -> None:
    rendered = render_message("Answer.", buttons("Does it hurt?", "How long?", "What next?"))
    assert rendered == (
        "Answer.\n\n1. Does it hurt?\n2. How long?\n3. What next?\nReply 1, 2 or 3."
    )


def test_a_single_button_says_reply_1() -> None:
    assert render_message("Answer.", buttons("Does it hurt?")).endswith(
        "1. Does it hurt?\nReply 1."
    )


def test_button_without_title_shows_its_payload() -> None:
    assert "1. ask about pain" in render_message("Hi", [{"payload": "ask about pain"}])


def test_buttons_only() -> None:
    assert render_message("", buttons("A", "B")) == "1. A\n2. B\nReply 1 or 2."


# --- splitting ----------------------------------------------------------------------


def test_short_text_is_one_part_without_prefix() -> None:
    assert split_text("Short answer.", 320) == ["Short answer."]
    assert split_text("x" * 320, 320) == ["x" * 320]


def test_empty_text_sends_nothing() -> None:
    assert split_text("   ", 320) == []


def test_parts_fit_the_limit_with_prefix_and_keep_every_word() -> None:
    text = " ".join(f"word{i}" for i in range(400))
    parts = split_text(text, 160)
    assert len(parts) > 1
    assert all(len(part) <= 160 for part in parts)
    assert words(" ".join(unprefixed(parts))) == words(text)


def test_prefixes_count_the_parts() -> None:
    parts = split_text("Lorem ipsum dolor sit amet. " * 40, 120)
    total = len(parts)
    for number, part in enumerate(parts, start=1):
        match = PREFIX.match(part)
        assert match, part
        assert (int(match.group(1)), int(match.group(2))) == (number, total)


def test_never_splits_inside_a_word() -> None:
    text = " ".join(["spine", "injection", "radiofrequency", "ablation"] * 60)
    for part in unprefixed(split_text(text, 100)):
        for word in part.split():
            assert word in {"spine", "injection", "radiofrequency", "ablation"}


def test_prefers_a_paragraph_break() -> None:
    first = "First paragraph. " * 8  # 136 characters
    second = "Second paragraph here. " * 8
    parts = unprefixed(split_text(first.strip() + "\n\n" + second.strip(), 160))
    assert parts[0] == first.strip()
    assert parts[1].startswith("Second paragraph here.")


def test_prefers_a_sentence_end_over_a_word_break() -> None:
    sentence = "The needle goes in under X-ray guidance to the right place. "
    parts = unprefixed(split_text(sentence * 10, 150))
    assert all(part.endswith(".") for part in parts)


def test_a_word_longer_than_the_limit_is_cut() -> None:
    url = "https://example.org/" + "a" * 300
    parts = split_text(f"See {url} now", 100)
    assert all(len(part) <= 100 for part in parts)
    # Cut only inside the long word, and every part filled: no wasted "(1/5) See".
    assert "".join(unprefixed(parts)) == f"See {url} now"
    assert len(parts) == 4
    assert parts[0].startswith("(1/4) See https://example.org/")


def test_prefix_width_grows_with_ten_or_more_parts() -> None:
    text = " ".join(["abcdefgh"] * 200)  # ~1800 characters
    parts = split_text(text, 60)
    assert len(parts) >= 10
    assert all(len(part) <= 60 for part in parts)
    assert parts[-1].startswith(f"({len(parts)}/{len(parts)}) ")
    assert words(" ".join(unprefixed(parts))) == words(text)


def test_limit_below_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("text", plain_text.MIN_MAX_CHARS - 1)


def test_choices_block_stays_together_when_it_fits(store) -> None:
    reply = answer_topic(store, "pain", "fji")
    shown = [button.as_dict() for button in reply.buttons]
    parts = render_parts(reply.text, shown, 320)
    assert all(len(part) <= 320 for part in parts)
    last = PREFIX.sub("", parts[-1])
    assert last.startswith("1. ")
    assert last.endswith(choices_prompt(len(shown)))
    assert words(" ".join(unprefixed(parts))) == words(render_message(reply.text, shown))


def test_real_answers_render_within_the_limit(store) -> None:
    for topic in store.topics:
        reply = answer_topic(store, topic)
        shown = [button.as_dict() for button in reply.buttons]
        for limit in (160, 320):
            parts = render_parts(reply.text, shown, limit)
            assert parts
            assert all(len(part) <= limit for part in parts), (topic, limit)
            assert words(" ".join(unprefixed(parts))) == words(render_message(reply.text, shown))


# --- what a part costs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("x" * 160, 1),  # one GSM-7 SMS
        ("x" * 161, 2),  # concatenated: 153 per segment
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("x" * 159 + "€", 2),  # € takes two GSM-7 characters
        ("x" * 69 + "’", 1),  # a curly apostrophe makes it UCS-2: 70 per SMS
        ("x" * 70 + "’", 2),  # then 67 per segment
    ],
)
def test_billed_segments(text: str, segments: int) -> None:
    assert plain_text.billed_segments(text) == segments


def test_default_part_is_exactly_two_segments() -> None:
    assert plain_text.billed_segments("x" * plain_text.DEFAULT_MAX_CHARS) == 2
    assert plain_text.billed_segments("x" * (plain_text.DEFAULT_MAX_CHARS + 1)) == 3


def test_compact_shortens_titles_and_labels_and_keeps_every_answer_word(store) -> None:
    shorts = {source.title: source.short_title for source in store.sources.values()}
    reply = answer_topic(store, "duration", compare=True)
    compacted = plain_text.compact(reply.text, shorts)
    assert len(compacted) < len(reply.text)
    for fact in store.facts_for("duration"):
        if fact.id in reply.fact_ids:
            assert fact.answer in compacted
    for source in store.sources.values():
        assert source.title not in compacted
    side_lines = [line for line in compacted.splitlines() if line.startswith("- ")]
    label = re.compile(r"- [A-Z]{2,4}( / [A-Z]{2,4})*: ")
    assert side_lines and all(label.match(line) for line in side_lines)
    cited = re.search(r"Sources?: (.*)$", compacted).group(1)
    assert re.search(r'\("[^"]+"(, "[^"]+")*\)', cited)


def test_compact_leaves_unknown_titles_and_plain_text_alone() -> None:
    text = 'Plain words (MBB) here.\n\nSource: "Some Article" (section "Intro").'
    expected = 'Plain words (MBB) here.\n\nSource: Some Article ("Intro").'
    assert plain_text.compact(text, {}) == expected
    assert plain_text.compact("No citation at all.", {"A": "B"}) == "No citation at all."


# --- SMS_MAX_CHARS ------------------------------------------------------------------


def test_max_chars_default_and_env() -> None:
    assert max_chars_from_env({}) == plain_text.DEFAULT_MAX_CHARS == 306
    assert max_chars_from_env({"SMS_MAX_CHARS": " 160 "}) == 160


@pytest.mark.parametrize("raw", ["abc", "10", "0", "-5", "2000", "160.5"])
def test_bad_max_chars_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="SMS_MAX_CHARS"):
        max_chars_from_env({"SMS_MAX_CHARS": raw})


# --- number replies -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, number",
    [("2", 2), (" 2. ", 2), ("#2", 2), ("# 3", 3), ("1)", 1), ("02", 2), ("\t3\n", 3)],
)
def test_bare_numbers_are_recognised(text: str, number: int) -> None:
    assert parse_choice_number(text) == number


@pytest.mark.parametrize("text", ["2 please", "option 2", "2.5", "two", "", "22 years old", "-1"])
def test_other_text_is_not_a_choice(text: str) -> None:
    assert parse_choice_number(text) is None
    assert resolve_choice(text, ("a", "b", "c")) == text


def test_number_maps_to_the_payload() -> None:
    payloads = ("Does it hurt?", "How long is the recovery?", "What side effects can I expect?")
    assert resolve_choice("2", payloads) == "How long is the recovery?"
    assert resolve_choice(" #3. ", payloads) == "What side effects can I expect?"


@pytest.mark.parametrize("text", ["0", "4", "99"])
def test_out_of_range_number_is_kept_as_typed(text: str) -> None:
    assert resolve_choice(text, ("a", "b", "c")) == text


def test_number_without_choices_is_kept() -> None:
    assert resolve_choice("1", ()) == "1"


def test_button_payloads_fall_back_to_title() -> None:
    assert plain_text.button_payloads([{"title": "T", "payload": "P"}, {"title": "Only"}]) == (
        "P",
        "Only",
    )


def test_memory_is_per_sender_and_latest_wins() -> None:
    memory = ChoiceMemory()
    memory.offer("+1555000001", ("a1", "a2"))
    memory.offer("+1555000002", ("b1", "b2", "b3"))
    assert memory.resolve("+1555000001", "2") == "a2"
    assert memory.resolve("+1555000002", "3") == "b3"
    assert memory.resolve("+1555000001", "3") == "3"
    memory.offer("+1555000001", ("c1",))
    assert memory.resolve("+1555000001", "1") == "c1"
    assert memory.resolve("+1555000001", "2") == "2"


def test_memory_clear_and_unknown_sender() -> None:
    memory = ChoiceMemory()
    memory.offer("s", ("x",))
    memory.clear("s")
    memory.clear("never-seen")
    assert memory.resolve("s", "1") == "1"
    assert memory.resolve("never-seen", "1") == "1"


def test_memory_is_bounded_and_drops_the_oldest() -> None:
    memory = ChoiceMemory(max_senders=2)
    memory.offer("first", ("f",))
    memory.offer("second", ("s",))
    memory.offer("first", ("f2",))  # refreshed: now the newest
    memory.offer("third", ("t",))
    assert memory.offered("second") == ()
    assert memory.offered("first") == ("f2",)
    assert memory.offered("third") == ("t",)
