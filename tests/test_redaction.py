"""`redact`: what identifies a patient leaves their text, their question stays as typed."""

from __future__ import annotations

import pytest

from bot.ops.redaction import redact

EMAILS = [
    ("my email is jane.doe+spine@example.com thanks", "jane.doe+spine@example.com"),
    ("Send the form to J_Smith42@mail.clinic-north.org please", "J_Smith42@mail.clinic-north.org"),
    ("reach me at bob@gmail.com.", "bob@gmail.com"),
]

PHONES = [
    ("call me at 555-0142 please", "555-0142"),
    ("my cell is (555) 010-0199 after 5", "(555) 010-0199"),
    ("reach me on +1 555 010 0199 tomorrow", "+1 555 010 0199"),
    ("5550100199 is my number", "5550100199"),
    ("text 617.555.0123 if the time changes", "617.555.0123"),
    ("the nurse line 1-800-555-0199 was busy", "1-800-555-0199"),
    ("call me on 555 0142", "555 0142"),
    ("my daughter is in London, +44 20 7946 0958", "+44 20 7946 0958"),
]

DATES = [
    ("my procedure is on 3/14/2025 is that ok", "3/14/2025"),
    ("I was born 03-14-25", "03-14-25"),
    ("appointment 2025-03-14 at the north clinic", "2025-03-14"),
    ("see you March 14 then", "March 14"),
    ("my block is on March 14th, will it hurt", "March 14th"),
    ("I had rfa on 14 March 2025 and it worked", "14 March 2025"),
    ("Mar 3rd 2024 was my last block", "Mar 3rd 2024"),
    ("can I come Jan 5 instead", "Jan 5"),
    ("my birthday is May 3", "May 3"),
    ("is May 3rd ok for the injection", "May 3rd"),
    ("it was the 3rd of May", "3rd of May"),
    ("I had it 3 May 2024", "3 May 2024"),
    ("on may 5 i have my appt", "may 5"),
    ("booked for march 14, 2025", "march 14, 2025"),
    ("I'll be away Dec. 25, 2024", "Dec. 25, 2024"),
    ("sept 9th works", "sept 9th"),
    ("I'm away March 14-16", "March 14-16"),
    ("I had RFA in March 2025", "March 2025"),
    ("my last scan was 12/2024", "12/2024"),
]

ADDRESSES = [
    ("I live at 123 Main St, is parking free", "123 Main St"),
    ("45 oak avenue apt 2 is my place", "45 oak avenue apt 2"),
    ("send it to 1600 Pennsylvania Avenue", "1600 Pennsylvania Avenue"),
    ("my address is 12 Elm Street #12", "12 Elm Street #12"),
    ("pick me up at 200 Oak Dr", "200 Oak Dr"),
    ("he lives at 5 Park Place", "5 Park Place"),
    ("I'm at 1234 W 5th St Apt 4B now", "1234 W 5th St Apt 4B"),
    ("we moved to 77 old mill road unit 3", "77 old mill road unit 3"),
    ("12 oak drive apt 3", "12 oak drive apt 3"),
    ("9 Sunset Blvd.", "9 Sunset Blvd."),
]

NUMBERS = [
    ("my ssn is 123-45-6789", "123-45-6789"),
    ("card 4111 1111 1111 1111 for the copay", "4111 1111 1111 1111"),
    ("MRN 0012345", "0012345"),
    ("member id A123456789 on my insurance card", "123456789"),
    ("zip 62704-1234", "62704-1234"),
    ("my ssn is 123 45 6789", "123 45 6789"),
    ("record 5550142", "5550142"),
]

# Ordinary patient questions: not one byte may change.
UNCHANGED = [
    "does rfa hurt",
    "I had 2 blocks",
    "80% relief for 6 to 12 months",
    "pain at L4-L5",
    "call 911",
    "is it 3 or 4 weeks",
    "I'm 45 years old",
    "it may hurt",
    "may I drive home",
    "May I drive home after?",
    "Dr. Smith said",
    "Main street",
    "I waited 30 minutes",
    "May 2 people come with me?",
    "May 2 or 3 of us come?",
    "the first 2 may hurt more",
    "after 2 weeks I could drive",
    "my 2 kids drive me",
    "I live 2 blocks down the road",
    "I had 2 shots at the court",
    "It took 3 days to drive home",
    "pain 7/10 now 3/10",
    "1 2 3 4 5 6 7 8 9 10",
    "I walk 10,000 steps",
    "it costs $1,500-2,000",
    "between 6-12 months",
    "1 in 1000 people",
    "at 10:30 am",
    "i had 2 rfa in 2023 10 days apart",
    "C5 C6 C7 T12 L1 and L5-S1",
    "I'm taking 0.5 mg",
    "There are 3 ways to park",
    "I have 2 Court dates",
    "march in place for 5 minutes?",
    "Jan said it may help",
    "May 50% of people get relief?",
    "my score went +5 - 10 - 20",
    "",
    "   double  spaces\tand tabs\n kept  ",
    "ÜBER 🙂 naïve café",
]

ALL_REDACTED = (
    [(sentence, value, "[email]") for sentence, value in EMAILS]
    + [(sentence, value, "[phone]") for sentence, value in PHONES]
    + [(sentence, value, "[date]") for sentence, value in DATES]
    + [(sentence, value, "[address]") for sentence, value in ADDRESSES]
    + [(sentence, value, "[number]") for sentence, value in NUMBERS]
)


def _assert_replaced(sentence: str, value: str, placeholder: str) -> str:
    redacted = redact(sentence)
    assert placeholder in redacted
    assert value not in redacted
    return redacted


@pytest.mark.parametrize(("sentence", "value"), EMAILS)
def test_email_is_redacted(sentence: str, value: str) -> None:
    _assert_replaced(sentence, value, "[email]")


@pytest.mark.parametrize(("sentence", "value"), PHONES)
def test_phone_is_redacted(sentence: str, value: str) -> None:
    _assert_replaced(sentence, value, "[phone]")


@pytest.mark.parametrize(("sentence", "value"), DATES)
def test_date_is_redacted(sentence: str, value: str) -> None:
    _assert_replaced(sentence, value, "[date]")


@pytest.mark.parametrize(("sentence", "value"), ADDRESSES)
def test_address_is_redacted(sentence: str, value: str) -> None:
    _assert_replaced(sentence, value, "[address]")


@pytest.mark.parametrize(("sentence", "value"), NUMBERS)
def test_long_number_is_redacted(sentence: str, value: str) -> None:
    _assert_replaced(sentence, value, "[number]")


@pytest.mark.parametrize(("sentence", "value", "placeholder"), ALL_REDACTED)
def test_only_the_value_is_replaced(sentence: str, value: str, placeholder: str) -> None:
    """Exactly the value becomes the placeholder; the rest stays byte-identical."""
    before, _, after = sentence.partition(value)
    assert redact(sentence) == before + placeholder + after


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text", [sentence for sentence, _, _ in ALL_REDACTED] + UNCHANGED)
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I'm Jane, jane@example.com or 555-0142, procedure on March 14th at 12 Elm St apt 3,"
            " member 123-45-6789. does rfa hurt at L4-L5?",
            "I'm Jane, [email] or [phone], procedure on [date] at [address],"
            " member [number]. does rfa hurt at L4-L5?",
        ),
        (
            "call (555) 010-0199 before 3/14/2025, may I drive home after 2 blocks?",
            "call [phone] before [date], may I drive home after 2 blocks?",
        ),
        (
            "email me at a@b.co or call 555-0142 on Mar 3",
            "email me at [email] or call [phone] on [date]",
        ),
        (
            "1234 W 5th St Apt 4B, Springfield, IL 62704",
            "[address], Springfield, IL [number]",
        ),
        (
            "born 1/2/1980, card 4111-1111-1111-1111, phone +1 555 010 0199",
            "born [date], card [number], phone [phone]",
        ),
    ],
)
def test_mixed_message(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("appointment 2025-03-14", "appointment [date]"),
        ("born 03-14-2025", "born [date]"),
        ("on March 14, 2025 555 0142", "on [date] [phone]"),
    ],
)
def test_dates_are_not_read_as_phone_numbers(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_empty_string() -> None:
    assert redact("") == ""


def test_placeholders_alone_are_left_alone() -> None:
    text = "[email] [phone] [date] [address] [number]"
    assert redact(text) == text
