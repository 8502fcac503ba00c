"""The staff review as one self-contained HTML page.

Why: the clinic's staff read this page to learn which real patient questions the assistant
misses (not covered by the articles, not understood, sent to the care team, rated not helpful),
so the articles and training data can follow what patients actually ask.

The page holds patient messages, so:

- it is self-contained: it is opened from disk and may be mailed internally, and it must not
  load anything. No scripts, no external style sheets, fonts or images; charts are inline SVG;
  a Content-Security-Policy meta tag blocks any load a mistake could add;
- every patient text goes through the caller's `redact` and then `html.escape`; sender ids are
  never shown;
- red-flag (emergency) messages appear only as counts and times unless the review explicitly
  asks for their text (`Review.include_red_flag_text`);
- its first line and a banner at the top say it contains patient information.

The output depends only on the arguments, so the same review renders to the same bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Callable, Dict, List, Sequence, Tuple

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

Redact = Callable[[str], str]

PATIENT_INFO_COMMENT = (
    "<!-- CONTAINS PATIENT INFORMATION: messages patients sent to the clinic's assistant. "
    "Keep it private (care team only), do not forward it outside the clinic, "
    "delete it when done. -->"
)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

OUTCOME_LABELS: Dict[str, str] = {
    ANSWERED: "Answered",
    NOT_COVERED: "Not covered by the articles",
    FALLBACK: "Not understood",
    RED_FLAG: "Red flag (emergency advice)",
    PERSONAL_ADVICE: "Personal decision (sent to care team)",
    OUT_OF_SCOPE: "Out of scope",
    ENGLISH_ONLY: "Not in English",
    SMALL_TALK: "Small talk",
}
# Column headings of the per-day table, where the full labels would not fit.
_SHORT_LABELS: Dict[str, str] = {
    ANSWERED: "Answered",
    NOT_COVERED: "Not covered",
    FALLBACK: "Not understood",
    RED_FLAG: "Red flag",
    PERSONAL_ADVICE: "Care team",
    OUT_OF_SCOPE: "Out of scope",
    ENGLISH_ONLY: "Not English",
    SMALL_TALK: "Small talk",
}
# Okabe-Ito colours: told apart with the common colour-vision deficiencies, and they print.
_COLOURS: Dict[str, str] = {
    ANSWERED: "#009E73",
    NOT_COVERED: "#E69F00",
    FALLBACK: "#D55E00",
    RED_FLAG: "#000000",
    PERSONAL_ADVICE: "#0072B2",
    OUT_OF_SCOPE: "#56B4E9",
    ENGLISH_ONLY: "#CC79A7",
    SMALL_TALK: "#F0E442",
}
_OTHER_COLOUR = "#999999"

MAX_EXAMPLES = 5
MAX_TOPICS = 25
# Days without messages get a zero row when the period is at most this long.
MAX_FILLED_DAYS = 92
_BAR_WIDTH = 240
_BAR_HEIGHT = 14
_ONE_DAY = dt.timedelta(days=1)

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, "Segoe UI", Helvetica, Arial, sans-serif; color: #111;
       background: #fff; max-width: 62rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
.banner { border: 3px solid #a00000; background: #fff3f3; color: #5a0000; font-weight: 600;
          padding: .6rem .9rem; margin: 0 0 1rem; }
h1 { font-size: 1.6rem; margin: .2rem 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; padding-bottom: .2rem;
     border-bottom: 1px solid #bbb; }
h3 { font-size: 1.05rem; margin: .6rem 0 .4rem; }
.meta, .note { color: #444; }
.note { font-size: .9rem; }
.empty { font-weight: 600; padding: .5rem .75rem; border: 1px dashed #777; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border: 1px solid #c8c8c8; padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
thead th { background: #f0f0f0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.days th, .days td { font-size: .85rem; }
tbody th, time { white-space: nowrap; }
td ul { margin: 0; padding-left: 1.2rem; }
.legend { list-style: none; padding: 0; margin: .3rem 0; font-size: .9rem; }
.legend li { display: inline-block; margin: 0 1rem .2rem 0; }
.cluster { border: 1px solid #d0d0d0; padding: .2rem .9rem .6rem; margin: .8rem 0; }
.examples li, .red-flag-text { white-space: pre-wrap; overflow-wrap: anywhere; }
svg { vertical-align: middle; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  .banner { background: none; }
  h2, h3 { break-after: avoid; }
  tr, .cluster { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render(review: Review, *, redact: Callable[[str], str], generated: dt.datetime) -> str:
    """The report page as one HTML string."""
    parts = [
        PATIENT_INFO_COMMENT,
        "<!DOCTYPE html>",
        '<html lang="en">',
        _head(review),
        "<body>",
        '<p class="banner" id="patient-info-banner" role="note">Contains patient information: '
        "messages patients sent to the assistant. Keep this page private (care team only), do "
        "not forward it outside the clinic, and delete it when you are done.</p>",
        _header(review, generated),
        "<main>",
        _totals(review),
        _volume(review),
        _topics(review),
        _queue(review, redact),
        _red_flags(review, redact),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# --- sections ---------------------------------------------------------------------------------


def _head(review: Review) -> str:
    title = f"Assistant review, {_date(review.start)} to {_date(review.end)}"
    return "\n".join(
        [
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="robots" content="noindex, nofollow">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
        ]
    )


def _header(review: Review, generated: dt.datetime) -> str:
    return "\n".join(
        [
            "<header>",
            f"<h1>Assistant review, {_date(review.start)} to {_date(review.end)}</h1>",
            f'<p class="meta" id="period">Period: {_time(review.start)} to '
            f"{_time(review.end)} UTC (end not included).</p>",
            f'<p class="meta" id="generated">Generated {_time(generated)} UTC.</p>',
            "</header>",
        ]
    )


def _totals(review: Review) -> str:
    total = len(review.turns)
    conversations = len({turn.sender for turn in review.turns})
    lines = [
        '<section id="totals" aria-labelledby="totals-title">',
        '<h2 id="totals-title">Totals</h2>',
    ]
    if not total:
        lines.append('<p class="empty" id="no-conversations">No conversations in this period.</p>')
    lines += [
        '<table class="totals">',
        "<tbody>",
        '<tr><th scope="row">Patient messages (turns)</th>'
        f'<td class="num" id="total-turns">{total}</td></tr>',
        '<tr><th scope="row">Conversations</th>'
        f'<td class="num" id="total-conversations">{conversations}</td></tr>',
        "</tbody>",
        "</table>",
        '<table class="outcomes" id="outcomes">',
        "<caption>What the assistant did with each message</caption>",
        '<thead><tr><th scope="col">Outcome</th><th scope="col" class="num">Messages</th>'
        '<th scope="col" class="num">Share</th></tr></thead>',
        "<tbody>",
    ]
    for outcome, count in review.outcome_counts().items():
        lines.append(
            f'<tr id="outcome-{_slug(outcome)}"><th scope="row">{_swatch(outcome)} '
            f'{_esc(_label(outcome))}</th><td class="num count">{count}</td>'
            f'<td class="num share">{_share(count, total)}</td></tr>'
        )
    lines += ["</tbody>", "</table>", "</section>"]
    return "\n".join(lines)


def _volume(review: Review) -> str:
    lines = [
        '<section id="volume" aria-labelledby="volume-title">',
        '<h2 id="volume-title">Messages per day</h2>',
    ]
    days = _days(review)
    if not days:
        lines += ['<p class="empty">No conversations in this period.</p>', "</section>"]
        return "\n".join(lines)
    biggest = max(sum(counts.values()) for _, counts in days) or 1
    legend = "".join(f"<li>{_swatch(outcome)} {_esc(_label(outcome))}</li>" for outcome in OUTCOMES)
    lines += [
        f'<ul class="legend" aria-label="Colours of the bars">{legend}</ul>',
        '<table class="days" id="days">',
        "<caption>Patient messages per day (UTC) and what the assistant did</caption>",
        "<thead><tr>",
        '<th scope="col">Day</th>',
        '<th scope="col" class="num">Messages</th>',
        *(f'<th scope="col" class="num">{_esc(_SHORT_LABELS[o])}</th>' for o in OUTCOMES),
        '<th scope="col">Chart</th>',
        "</tr></thead>",
        "<tbody>",
    ]
    for day, counts in days:
        cells = "".join(
            f'<td class="num count-{_slug(o)}">{counts.get(o, 0)}</td>' for o in OUTCOMES
        )
        lines.append(
            f'<tr id="day-{day.isoformat()}"><th scope="row">{day.isoformat()}</th>'
            f'<td class="num total">{sum(counts.values())}</td>{cells}'
            f"<td>{_stacked_bar(counts, biggest)}</td></tr>"
        )
    lines += ["</tbody>", "</table>", "</section>"]
    return "\n".join(lines)


def _topics(review: Review) -> str:
    lines = [
        '<section id="topics" aria-labelledby="topics-title">',
        '<h2 id="topics-title">Top topics answered</h2>',
    ]
    rows = review.topic_counts()
    if not rows:
        lines += ['<p class="empty">No answered topics in this period.</p>', "</section>"]
        return "\n".join(lines)
    lines += [
        '<table class="topics" id="topic-table">',
        "<caption>Articles the assistant answered from, most asked first, with the "
        "patients' helpful? votes</caption>",
        '<thead><tr><th scope="col">Topic</th><th scope="col" class="num">Answers</th>'
        '<th scope="col" class="num">Thumbs up (helpful)</th>'
        '<th scope="col" class="num">Thumbs down (not helpful)</th></tr></thead>',
        "<tbody>",
    ]
    used: Dict[str, int] = {}
    for topic, answers, up, down in rows[:MAX_TOPICS]:
        lines.append(
            f'<tr id="{_unique_id("topic-" + _slug(topic), used)}" class="topic">'
            f'<th scope="row">{_esc(topic)}</th><td class="num answers">{answers}</td>'
            f'<td class="num up">{up}</td><td class="num down">{down}</td></tr>'
        )
    lines += ["</tbody>", "</table>"]
    if len(rows) > MAX_TOPICS:
        lines.append(f'<p class="note">{len(rows) - MAX_TOPICS} less asked topics not shown.</p>')
    lines.append("</section>")
    return "\n".join(lines)


def _queue(review: Review, redact: Redact) -> str:
    queued = len(review.queue())
    lines = [
        '<section id="queue" aria-labelledby="queue-title">',
        '<h2 id="queue-title">Review queue: questions the assistant missed</h2>',
        f'<p class="meta">Messages queued for review: <span id="queue-count">{queued}</span>, '
        f'in <span id="cluster-total">{len(review.clusters)}</span> groups of similar '
        "wording.</p>",
    ]
    if not review.clusters:
        lines += ['<p class="empty">Nothing in the review queue.</p>', "</section>"]
        return "\n".join(lines)
    for number, cluster in enumerate(review.clusters, start=1):
        lines.append(_cluster(number, cluster, review.include_red_flag_text, redact))
    lines.append("</section>")
    return "\n".join(lines)


def _cluster(number: int, cluster: Cluster, include_red_flag_text: bool, redact: Redact) -> str:
    key = f"cluster-{number}"
    guess = cluster.guess or "(no guess)"
    noun = "message" if cluster.count == 1 else "messages"
    first = _time(cluster.first_seen) + " UTC" if cluster.turns else "n/a"
    last = _time(cluster.last_seen) + " UTC" if cluster.turns else "n/a"
    reasons = "".join(f"<li>{_esc(QUEUE_REASONS.get(r, r))}</li>" for r in cluster.reasons)
    shown = [t for t in cluster.turns if include_red_flag_text or t.outcome != RED_FLAG]
    hidden = len(cluster.turns) - len(shown)
    examples = _examples(shown, redact)
    lines = [
        f'<section class="cluster" id="{key}" aria-labelledby="{key}-title">',
        f'<h3 id="{key}-title">{number}. {_esc(guess)} ({cluster.count} {noun})</h3>',
        '<table class="cluster-facts">',
        "<tbody>",
        f'<tr><th scope="row">Messages</th><td class="num cluster-count">{cluster.count}</td></tr>',
        f'<tr><th scope="row">First seen</th><td class="first-seen">{first}</td></tr>',
        f'<tr><th scope="row">Last seen</th><td class="last-seen">{last}</td></tr>',
        f'<tr><th scope="row">Assistant\'s guess</th><td class="guess">{_esc(guess)}</td></tr>',
        f'<tr><th scope="row">Why queued</th><td class="reasons">'
        f"{f'<ul>{reasons}</ul>' if reasons else 'n/a'}</td></tr>",
        "</tbody>",
        "</table>",
    ]
    if examples:
        lines.append(f'<p class="meta">Examples (up to {MAX_EXAMPLES}, redacted):</p>')
        lines.append('<ul class="examples">')
        lines += [f"<li>{text}</li>" for text in examples]
        lines.append("</ul>")
    else:
        lines.append('<p class="note">No examples to show.</p>')
    if hidden:
        lines.append(
            f'<p class="note">{hidden} red-flag {"message" if hidden == 1 else "messages"} '
            "in this group not shown.</p>"
        )
    lines.append("</section>")
    return "\n".join(lines)


def _red_flags(review: Review, redact: Redact) -> str:
    flagged = sorted(
        (turn for turn in review.turns if turn.outcome == RED_FLAG), key=lambda t: _utc(t.time)
    )
    lines = [
        '<section id="red-flags" aria-labelledby="red-flags-title">',
        '<h2 id="red-flags-title">Red flags (emergency advice given)</h2>',
        f'<p class="meta">Messages answered with emergency advice: '
        f'<span id="red-flag-count">{len(flagged)}</span>.</p>',
    ]
    if not flagged:
        lines += ['<p class="empty">No red flags in this period.</p>', "</section>"]
        return "\n".join(lines)
    if review.include_red_flag_text:
        lines += [
            '<table class="red-flag-list" id="red-flag-list">',
            "<caption>Red-flag messages (redacted)</caption>",
            '<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Message</th></tr></thead>',
            "<tbody>",
            *(
                f'<tr><td>{_time(t.time)}</td><td class="red-flag-text">'
                f"{_patient_text(t.text, redact)}</td></tr>"
                for t in flagged
            ),
            "</tbody>",
            "</table>",
        ]
    else:
        per_day: Dict[dt.date, List[Turn]] = {}
        for turn in flagged:
            per_day.setdefault(_utc(turn.time).date(), []).append(turn)
        lines += [
            '<p class="note">The messages themselves are left out of this report; only when '
            "they came is shown.</p>",
            '<table class="red-flag-days" id="red-flag-days">',
            "<caption>Red flags per day (UTC)</caption>",
            '<thead><tr><th scope="col">Day</th><th scope="col" class="num">Red flags</th>'
            '<th scope="col">Times (UTC)</th></tr></thead>',
            "<tbody>",
            *(
                f'<tr id="red-flag-day-{day.isoformat()}"><th scope="row">{day.isoformat()}</th>'
                f'<td class="num count">{len(turns)}</td><td class="times">'
                f"{', '.join(_time(t.time, with_date=False) for t in turns)}</td></tr>"
                for day, turns in per_day.items()
            ),
            "</tbody>",
            "</table>",
        ]
    lines.append("</section>")
    return "\n".join(lines)


# --- helpers ----------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _patient_text(text: str, redact: Redact) -> str:
    """Patient words: redacted first, then escaped; nothing else may put them in the page."""
    return html.escape(redact(text), quote=True)


def _examples(turns: Sequence[Turn], redact: Redact) -> List[str]:
    """Up to MAX_EXAMPLES distinct redacted, escaped texts, in the cluster's order."""
    seen: List[str] = []
    for turn in turns:
        text = _patient_text(turn.text, redact)
        if text.strip() and text not in seen:
            seen.append(text)
            if len(seen) == MAX_EXAMPLES:
                break
    return seen


def _days(review: Review) -> List[Tuple[dt.date, Dict[str, int]]]:
    """review.per_day(), with zero rows for quiet days when the period is short enough."""
    days = dict(review.per_day())
    if not days:
        return []
    first = _utc(review.start).date()
    last = (_utc(review.end) - dt.timedelta(microseconds=1)).date()
    if first <= last and (last - first).days < MAX_FILLED_DAYS:
        day = first
        while day <= last:
            days.setdefault(day, {outcome: 0 for outcome in OUTCOMES})
            day += _ONE_DAY
    return sorted(days.items())


def _stacked_bar(counts: Dict[str, int], biggest: int) -> str:
    """An inline SVG bar, one segment per outcome; the numbers are in the table beside it."""
    rects = []
    done = 0
    for outcome, count in counts.items():
        if not count:
            continue
        x = _BAR_WIDTH * done / biggest
        done += count
        width = _BAR_WIDTH * done / biggest - x
        rects.append(
            f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="{_BAR_HEIGHT}" '
            f'fill="{_COLOURS.get(outcome, _OTHER_COLOUR)}"></rect>'
        )
    return (
        f'<svg class="bar" width="{_BAR_WIDTH}" height="{_BAR_HEIGHT}" '
        f'viewBox="0 0 {_BAR_WIDTH} {_BAR_HEIGHT}" aria-hidden="true" focusable="false">'
        f"{''.join(rects)}</svg>"
    )


def _swatch(outcome: str) -> str:
    return (
        '<svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" '
        f'focusable="false"><rect width="12" height="12" '
        f'fill="{_COLOURS.get(outcome, _OTHER_COLOUR)}"></rect></svg>'
    )


def _label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome.replace("_", " ").capitalize())


def _share(count: int, total: int) -> str:
    if not total:
        return "n/a"
    percent = 100 * count / total
    if 0 < percent < 1:
        return "&lt;1%"
    return f"{percent:.0f}%"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _unique_id(base: str, used: Dict[str, int]) -> str:
    used[base] = used.get(base, 0) + 1
    return base if used[base] == 1 else f"{base}-{used[base]}"


def _utc(moment: dt.datetime) -> dt.datetime:
    """Naive datetimes are UTC by the data model's contract."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _date(moment: dt.datetime) -> str:
    return _utc(moment).date().isoformat()


def _time(moment: dt.datetime, *, with_date: bool = True) -> str:
    """A <time> element, minutes in UTC."""
    utc = _utc(moment)
    shown = utc.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")
    return f'<time datetime="{utc.strftime("%Y-%m-%dT%H:%M:%SZ")}">{shown}</time>'
