"""The staff review end to end: patients talk to the real servers, a widget vote is cast
over socket.io, then `python -m bot review` reads the tracker store those servers wrote.

Its own server pair, so the report holds exactly the conversations sent here.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot.core.paths import PROJECT_ROOT
from harness.client import rest_text
from harness.servers import Servers, running_servers
from harness.socket_chat import SocketChat

pytestmark = pytest.mark.slow

PHONE, EMAIL = "555-867-5309", "jo.patient@example.com"
ANSWERED_QUESTION = "does a facet injection hurt?"
NOT_UNDERSTOOD = "blorp zibble qqq wuzzle"
NOT_COVERED = "can I eat before my injection?"
PERSONAL = f"should I stop my blood thinner before my injection? call me at {PHONE} or {EMAIL}"
RED_FLAG = "I lost control of my bladder this morning"


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("review")
    with running_servers(workdir, {"CLINIC_CONFIG": "", "CLINIC_PHONE": "555-0100"}) as running:
        yield running


async def widget_conversation(servers: Servers) -> None:
    """A question over socket.io, as the widget asks it, and a thumbs down on its answer."""
    chat = SocketChat(servers)
    await chat.connect()
    try:
        answer = await chat.ask(ANSWERED_QUESTION)
        assert "Source:" in answer
        assert await chat.vote("down", answer) is True
        assert await chat.vote("down", "an answer this conversation never got") is False
        assert await chat.vote("maybe", answer) is False  # not a vote
    finally:
        await chat.close()


@pytest.fixture(scope="module")
def conversations(servers) -> Dict[str, str]:
    """What was sent and answered, by kind."""
    asyncio.run(widget_conversation(servers))
    replies = {
        "fallback": rest_text(servers, NOT_UNDERSTOOD),
        "not_covered": rest_text(servers, NOT_COVERED),
        "personal": rest_text(servers, PERSONAL),
        "red_flag": rest_text(servers, RED_FLAG),
    }
    assert "not sure I understood" in replies["fallback"]
    assert "don't cover" in replies["not_covered"] or "do not cover" in replies["not_covered"]
    assert "911" in replies["red_flag"]
    return replies


def review(servers: Servers, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "review", "--since", "1d", "--out", str(out)]
        + ["--db", str(servers.tracker_db), *extra],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def cell(html: str, row_id: str, cls: str) -> str:
    pattern = rf'<tr id="{row_id}".*?<td class="(?:[^"]* )?{cls}(?: [^"]*)?">([^<]*)</td>'
    match = re.search(pattern, html, re.S)
    assert match, (row_id, cls)
    return match.group(1).strip()


def test_the_report_counts_what_was_sent(servers, conversations, tmp_path) -> None:
    result = review(servers, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "5 patient message(s)" in result.stdout
    html = (tmp_path / "out" / "review.html").read_text()
    assert html.splitlines()[0].startswith("<!-- CONTAINS PATIENT INFORMATION")
    for outcome in ("answered", "fallback", "not-covered", "personal-advice", "red-flag"):
        assert cell(html, f"outcome-{outcome}", "count") == "1", outcome
    assert cell(html, "topic-pain", "down") == "1"
    assert re.search(r'id="queue-count"[^>]*>\s*4\s*<', html), "four messages to review"


def test_the_queue_lists_each_miss_once_redacted(servers, conversations, tmp_path) -> None:
    assert review(servers, tmp_path / "out").returncode == 0
    text = (tmp_path / "out" / "unanswered.csv").read_text()
    assert text.startswith("# CONTAINS PATIENT INFORMATION")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    by_reason = {row["reason"]: row for row in rows}
    assert sorted(by_reason) == [
        "answer rated not helpful",
        "not covered by the articles",
        "not understood (asked to rephrase)",
        "sent to the care team (personal decision)",
    ]
    assert by_reason["answer rated not helpful"]["text"] == ANSWERED_QUESTION
    assert by_reason["answer rated not helpful"]["channel"] == "socketio"
    personal = by_reason["sent to the care team (personal decision)"]["text"]
    assert "[phone]" in personal and "[email]" in personal
    for name in ("review.html", "unanswered.csv", "suggestions.yml"):
        written = (tmp_path / "out" / name).read_text()
        assert PHONE not in written and EMAIL not in written, name
        assert "bladder" not in written, name  # red flags: counts and times only
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o600, name


def test_red_flag_text_only_when_asked(servers, conversations, tmp_path) -> None:
    assert review(servers, tmp_path / "out", "--include-red-flags").returncode == 0
    html = (tmp_path / "out" / "review.html").read_text()
    assert "bladder" in html
    assert "bladder" not in (tmp_path / "out" / "unanswered.csv").read_text()


def test_a_missing_database_is_exit_code_2(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "review", "--since", "1h", "--out", str(tmp_path / "o")]
        + ["--db", str(tmp_path / "missing.sqlite3")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "no such database file" in result.stderr
