"""The staff review page: self-contained, redacted, escaped, red flags kept out, numbers right.

The review is built by hand with turns of every outcome over three days (one quiet day in
between), helpful? votes and two clusters, and rendered by `bot.ops.review_html.render`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html.parser import HTMLParser
from typing import Dict, List, Optional, Tuple

import pytest

from bot.core.outcomes import (
    ANSWERED,
    ENGLISH_ONLY,
    FALLBACK,
    NOT_COVERED,
    OUT_OF_SCOPE,
    OUTCOMES,
    PERSONAL_ADVICE,
    RED_FLAG,
    SMALL_TALK,
)
from bot.ops.review_data import QUEUE_REASONS, Cluster, Review, Turn
from bot.ops.review_html import CSP, render

UTC = dt.timezone.utc
START = dt.datetime(2024, 5, 1, tzinfo=UTC)
END = dt.datetime(2024, 5, 5, tzinfo=UTC)
GENERATED = dt.datetime(2024, 5, 5, 8, 30, tzinfo=UTC)
SENDERS = ("sender-alpha-7f3a", "sender-bravo-91c2", "sender-charlie-0d4e", "sender-delta-55b1")
UNSAFE = "<b>x</b>& can I drive home after the block"
PHONE_TEXT = "please call me on 555-0199 about the steroid"
RED_FLAG_TEXTS = (
    "zqredflag sudden leg weakness and I cannot feel my groin",
    "zqredflag lost control of my bladder since this morning",
)


def _turn(
    sender: int,
    day: int,
    hour: int,
    text: str,
    outcome: str,
    *,
    topic: Optional[str] = None,
    vote: Optional[str] = None,
    reason: Optional[str] = None,
    intent: str = "ask_something",
) -> Turn:
    return Turn(
        sender=SENDERS[sender],
        time=dt.datetime(2024, 5, day, hour, 15, tzinfo=UTC),
        channel="webchat",
        text=text,
        intent=intent,
        confidence=0.8,
        outcome=outcome,
        topic=topic,
        vote=vote,
        queue_reason=reason,
    )


TURNS = [
    # 1 May
    _turn(0, 1, 9, "zq01 how long does the numbness last", ANSWERED, topic="numbness", vote="up"),
    _turn(0, 1, 9, "zq02 and can I shower", ANSWERED, topic="aftercare", vote="up"),
    _turn(1, 1, 10, UNSAFE, NOT_COVERED, reason=NOT_COVERED, intent="ask_driving"),
    _turn(1, 1, 11, RED_FLAG_TEXTS[0], RED_FLAG, intent="red_flag"),
    _turn(2, 1, 12, "zq03 hello there", SMALL_TALK),
    # 2 May
    _turn(2, 2, 8, "zq04 how long does it go numb", ANSWERED, topic="numbness", vote="down"),
    _turn(2, 2, 8, "zq05 numb leg normal?", ANSWERED, topic="numbness", vote="up"),
    _turn(3, 2, 9, PHONE_TEXT, FALLBACK, reason=FALLBACK, intent="ask_steroid"),
    _turn(3, 2, 10, "zq06 should I stop my blood thinner", PERSONAL_ADVICE, reason=PERSONAL_ADVICE),
    _turn(3, 2, 11, "zq07 what is the weather tomorrow", OUT_OF_SCOPE),
    # 3 May: nobody wrote. 4 May:
    _turn(0, 4, 7, "zq08 puedo manejar despues", ENGLISH_ONLY),
    _turn(0, 4, 7, "zq09 can I drive myself home", NOT_COVERED, reason=NOT_COVERED),
    _turn(1, 4, 18, RED_FLAG_TEXTS[1], RED_FLAG, intent="red_flag"),
    _turn(1, 4, 19, "zq10 when can I work again", ANSWERED, topic="aftercare", vote="down"),
    _turn(
        2, 4, 20, "zq11 the answer did not help", ANSWERED, topic="aftercare", reason="thumbs_down"
    ),
]
DRIVING = Cluster(turns=(TURNS[2], TURNS[11], TURNS[3]), guess="ask_driving")
STEROID = Cluster(turns=(TURNS[7], TURNS[8]), guess="ask_steroid")


def _review(**changes) -> Review:
    # STEROID (2 messages) before DRIVING (3): the page must keep the caller's order.
    review = Review(start=START, end=END, turns=list(TURNS), clusters=[STEROID, DRIVING])
    return dataclasses.replace(review, **changes)


def _redact_phone(text: str) -> str:
    return text.replace("555-0199", "[phone]")


def _page(**changes) -> str:
    return render(_review(**changes), redact=_redact_phone, generated=GENERATED)


class _Elements(HTMLParser):
    """Text of every element with an id or class, tag balance, headings and <th> scopes."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[Tuple[str, Dict[str, str], List[str]]] = []
        self.by_id: Dict[str, str] = {}
        self.by_class: List[Tuple[str, str, str]] = []  # (class, text, enclosing ids)
        self.headings: List[int] = []
        self.th_without_scope = 0
        self.errors: List[str] = []
        self.tags: List[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "th" and attributes.get("scope") not in ("row", "col"):
            self.th_without_scope += 1
        if tag not in self.VOID:
            self.stack.append((tag, attributes, []))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"unexpected </{tag}>")
            return
        _, attributes, parts = self.stack.pop()
        text = " ".join("".join(parts).split())
        for _, _, outer in self.stack:
            outer.append("".join(parts))
        ids = " ".join(a.get("id", "") for _, a, _ in self.stack)
        if "id" in attributes:
            self.by_id[attributes["id"]] = text
        for name in attributes.get("class", "").split():
            self.by_class.append((name, text, f"{ids} {attributes.get('id', '')}"))

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1][2].append(data)


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser


def _row(page: str, row_id: str) -> str:
    """The HTML of the table row with this id."""
    match = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row {row_id}"
    return match.group(1)


def _cell(row: str, name: str) -> str:
    match = re.search(rf'<td class="[^"]*\b{re.escape(name)}\b[^"]*">(.*?)</td>', row, re.S)
    assert match, f"no cell {name} in {row}"
    return match.group(1)


def _clusters(page: str) -> List[str]:
    return re.findall(r'<section class="cluster" id="cluster-\d+".*?</section>', page, re.S)


def test_first_line_says_patient_information_and_banner_says_it_too() -> None:
    page = _page()
    first, second = page.splitlines()[:2]
    assert first.startswith("<!--") and first.endswith("-->")
    assert "CONTAINS PATIENT INFORMATION" in first
    assert "private" in first and "delete" in first
    assert second == "<!DOCTYPE html>"
    banner = _parse(page).by_id["patient-info-banner"]
    assert "patient information" in banner.lower() and "delete" in banner
    assert page.index('id="patient-info-banner"') < page.index("<h1")


@pytest.mark.parametrize("include", [False, True])
def test_page_loads_nothing(include: bool) -> None:
    page = _page(include_red_flag_text=include)
    lowered = page.lower()
    assert "<script" not in lowered
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "@font-face" not in lowered
    assert "url(" not in lowered
    assert not re.search(r"""\b(?:src|href|action|srcset|data)\s*=\s*["']?\s*//""", lowered)
    assert not re.search(r"<(?:link|iframe|object|embed|img|base|form)\b", lowered)
    assert not re.search(r"\son[a-z]+\s*=", lowered)  # no event handlers either
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert CSP == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert '<html lang="en">' in page


def test_page_is_well_formed_and_accessible() -> None:
    parsed = _parse(_page(include_red_flag_text=True))
    assert parsed.errors == [] and parsed.stack == []
    assert parsed.headings[0] == 1 and parsed.headings.count(1) == 1
    levels = parsed.headings
    assert all(levels[i + 1] - levels[i] <= 1 for i in range(len(levels) - 1)), levels
    assert parsed.tags.count("th") > 20 and parsed.th_without_scope == 0
    assert parsed.tags.count("style") == 1


def test_patient_text_is_escaped() -> None:
    page = _page()
    assert "<b>x</b>" not in page and "x</b>&" not in page
    assert "&lt;b&gt;x&lt;/b&gt;&amp; can I drive home after the block" in page


def test_redact_is_applied_before_escaping() -> None:
    page = _page()
    assert "555-0199" not in page
    assert "please call me on [phone] about the steroid" in page


def test_every_patient_text_goes_through_redact() -> None:
    calls: List[str] = []

    def redact(text: str) -> str:
        calls.append(text)
        return "[removed & <gone>]"

    page = render(_review(include_red_flag_text=True), redact=redact, generated=GENERATED)
    for turn in TURNS:
        assert turn.text not in page
        words = re.findall(r"zq\d+|zqredflag", turn.text)
        assert all(word not in page for word in words), turn.text
    assert "[removed &amp; &lt;gone&gt;]" in page and "<gone>" not in page
    assert set(RED_FLAG_TEXTS) <= set(calls)


def test_sender_ids_are_never_shown() -> None:
    for include in (False, True):
        page = _page(include_red_flag_text=include)
        for sender in SENDERS:
            assert sender not in page
            assert sender.split("-")[-1] not in page


def test_red_flag_text_left_out_by_default() -> None:
    page = _page()
    for text in RED_FLAG_TEXTS:
        assert text not in page
    assert "zqredflag" not in page  # not even as a cluster example (DRIVING holds one)
    parsed = _parse(page)
    assert parsed.by_id["red-flag-count"] == "2"
    assert _cell(_row(page, "red-flag-day-2024-05-01"), "count") == "1"
    assert "11:15" in _cell(_row(page, "red-flag-day-2024-05-01"), "times")
    assert "18:15" in _cell(_row(page, "red-flag-day-2024-05-04"), "times")
    assert 'id="red-flag-list"' not in page
    driving = _clusters(page)[1]
    assert "1 red-flag message in this group not shown" in driving


def test_red_flag_text_listed_when_asked() -> None:
    page = _page(include_red_flag_text=True)
    parsed = _parse(page)
    listed = [text for name, text, _ in parsed.by_class if name == "red-flag-text"]
    assert listed == list(RED_FLAG_TEXTS)
    assert parsed.by_id["red-flag-count"] == "2"
    assert 'id="red-flag-days"' not in page
    assert RED_FLAG_TEXTS[0] in _clusters(page)[1]


def test_red_flag_text_kept_out_of_clusters_even_if_caller_queued_it() -> None:
    only_flags = Cluster(turns=(TURNS[3], TURNS[12]), guess="red_flag")
    page = render(_review(clusters=[only_flags]), redact=_redact_phone, generated=GENERATED)
    assert "zqredflag" not in page
    assert "No examples to show." in _clusters(page)[0]
    assert "2 red-flag messages in this group not shown" in _clusters(page)[0]


def test_title_period_and_generation_time() -> None:
    parsed = _parse(_page())
    assert (
        parsed.by_id["period"]
        == "Period: 2024-05-01 00:00 to 2024-05-05 00:00 UTC (end not included)."
    )
    assert parsed.by_id["patient-info-banner"]
    assert "2024-05-05 08:30" in parsed.by_id["generated"]
    assert "<title>Assistant review, 2024-05-01 to 2024-05-05</title>" in _page()


def test_totals_and_outcome_rows() -> None:
    page = _page()
    parsed = _parse(page)
    assert parsed.by_id["total-turns"] == str(len(TURNS)) == "15"
    assert parsed.by_id["total-conversations"] == "4"
    expected = {
        ANSWERED: (6, "40%", "Answered"),
        NOT_COVERED: (2, "13%", "Not covered by the articles"),
        FALLBACK: (1, "7%", "Not understood"),
        RED_FLAG: (2, "13%", "Red flag (emergency advice)"),
        PERSONAL_ADVICE: (1, "7%", "Personal decision (sent to care team)"),
        OUT_OF_SCOPE: (1, "7%", "Out of scope"),
        ENGLISH_ONLY: (1, "7%", "Not in English"),
        SMALL_TALK: (1, "7%", "Small talk"),
    }
    assert set(expected) == set(OUTCOMES)
    for outcome, (count, share, label) in expected.items():
        row_id = "outcome-" + outcome.replace("_", "-")
        row = _row(page, row_id)
        assert _cell(row, "count") == str(count), outcome
        assert _cell(row, "share") == share, outcome
        assert parsed.by_id[row_id].startswith(label), outcome


def test_per_day_rows_with_a_quiet_day() -> None:
    page = _page()
    assert re.findall(r'<tr id="day-([0-9-]+)"', page) == [
        "2024-05-01",
        "2024-05-02",
        "2024-05-03",
        "2024-05-04",
    ]
    first = _row(page, "day-2024-05-01")
    assert _cell(first, "total") == "5"
    assert _cell(first, "count-answered") == "2"
    assert _cell(first, "count-red-flag") == "1"
    assert _cell(first, "count-small-talk") == "1"
    assert _cell(_row(page, "day-2024-05-02"), "total") == "5"
    assert _cell(_row(page, "day-2024-05-02"), "count-fallback") == "1"
    assert _cell(_row(page, "day-2024-05-03"), "total") == "0"
    assert _cell(_row(page, "day-2024-05-04"), "count-english-only") == "1"
    assert "<rect" not in _row(page, "day-2024-05-03")
    assert _row(page, "day-2024-05-01").count("<rect") == 4  # answered, not covered, red, talk


def test_topic_rows_with_votes() -> None:
    page = _page()
    assert re.findall(r'<tr id="(topic-[a-z0-9-]+)"', page) == ["topic-aftercare", "topic-numbness"]
    aftercare = _row(page, "topic-aftercare")
    assert (_cell(aftercare, "answers"), _cell(aftercare, "up"), _cell(aftercare, "down")) == (
        "3",
        "1",
        "1",
    )
    numbness = _row(page, "topic-numbness")
    assert (_cell(numbness, "answers"), _cell(numbness, "up"), _cell(numbness, "down")) == (
        "3",
        "2",
        "1",
    )


def test_clusters_in_given_order_with_counts_reasons_and_examples() -> None:
    page = _page()
    parsed = _parse(page)
    steroid, driving = _clusters(page)
    assert 'id="cluster-1"' in steroid and 'id="cluster-2"' in driving
    assert parsed.by_id["cluster-1-title"] == "1. ask_steroid (2 messages)"
    assert parsed.by_id["cluster-2-title"] == "2. ask_driving (3 messages)"
    assert parsed.by_id["queue-count"] == "5"
    assert _cell(steroid, "cluster-count") == "2"
    assert _cell(driving, "cluster-count") == "3"
    assert "2024-05-02 09:15" in _cell(steroid, "first-seen")
    assert "2024-05-02 10:15" in _cell(steroid, "last-seen")
    assert "2024-05-01 10:15" in _cell(driving, "first-seen")
    assert "2024-05-04 07:15" in _cell(driving, "last-seen")
    assert _cell(driving, "guess") == "ask_driving"
    reasons = _cell(steroid, "reasons")
    assert QUEUE_REASONS[FALLBACK] in reasons and QUEUE_REASONS[PERSONAL_ADVICE] in reasons
    assert "personal_advice" not in reasons
    examples = re.findall(r"<li>(.*?)</li>", steroid.split('<ul class="examples">')[1])
    assert examples == [
        "please call me on [phone] about the steroid",
        "zq06 should I stop my blood thinner",
    ]


def test_at_most_five_examples_per_cluster() -> None:
    many = tuple(
        _turn(0, 2, hour, f"zq-many-{hour:02d}", NOT_COVERED, reason=NOT_COVERED)
        for hour in range(7)
    )
    page = render(
        _review(clusters=[Cluster(turns=many, guess="ask_many")]),
        redact=_redact_phone,
        generated=GENERATED,
    )
    cluster = _clusters(page)[0]
    assert _cell(cluster, "cluster-count") == "7"
    assert re.findall(r"zq-many-\d+", cluster) == [f"zq-many-{h:02d}" for h in range(5)]


def test_empty_review() -> None:
    page = render(Review(start=START, end=END, turns=[]), redact=_redact_phone, generated=GENERATED)
    parsed = _parse(page)
    assert parsed.errors == []
    assert parsed.by_id["no-conversations"] == "No conversations in this period."
    assert parsed.by_id["total-turns"] == "0"
    assert parsed.by_id["total-conversations"] == "0"
    assert _cell(_row(page, "outcome-answered"), "count") == "0"
    assert 'id="day-' not in page and 'class="cluster"' not in page
    assert page.splitlines()[0].startswith("<!-- CONTAINS PATIENT INFORMATION")
    assert 'id="no-conversations"' not in _page()


def test_same_input_same_output() -> None:
    first = _page(include_red_flag_text=True)
    again = render(
        Review(START, END, list(TURNS), [STEROID, DRIVING], include_red_flag_text=True),
        redact=_redact_phone,
        generated=GENERATED,
    )
    assert first == again == _page(include_red_flag_text=True)
    assert _page() == _page()
    later = render(_review(), redact=_redact_phone, generated=GENERATED + dt.timedelta(hours=1))
    assert later != _page()  # the output does follow its input
