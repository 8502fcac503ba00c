"""Concurrent conversations over Rasa's REST channel, checked against the tracker store.

Each conversation has its own sender id and sends its script one message at a time
(a patient waits for the answer); conversations run concurrently. The REST reply does
not echo the patient's text, so correctness is checked afterwards against what Rasa
stored: the conversation's tracker must hold exactly the messages sent, in order, and
the bot messages recorded after each one must be the reply the client received.
The tracker is read straight from the tracker store (SQLite, or PostgreSQL for several
replicas), so Rasa's HTTP API (off by default, and a way into every conversation) never
has to be enabled. Given several server URLs, each message goes to one picked at random:
replicas behind a load balancer that does not keep a patient on one of them.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import aiohttp

from bench.questions import conversation_script
from bench.stats import latency_summary

REST_PATH = "/webhooks/rest/webhook"
REQUEST_TIMEOUT_S = 120.0
MAX_PROBLEMS = 10


@dataclass
class Turn:
    """One message sent and what came back."""

    text: str
    status: Optional[int] = None
    replies: List[Dict[str, Any]] = field(default_factory=list)
    latency_s: Optional[float] = None
    error: Optional[str] = None

    @property
    def reply_texts(self) -> List[str]:
        return [reply["text"] for reply in self.replies if reply.get("text")]


@dataclass
class Conversation:
    sender: str
    turns: List[Turn]


@dataclass
class StoredTurn:
    """A user message in the tracker and the bot messages stored after it."""

    text: str
    bot_texts: List[str]


@dataclass
class Check:
    """Correctness counts; a correct run has zero in every field except the first two."""

    sent: int = 0
    replies: int = 0
    errors: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    misrouted: int = 0
    wrong_reply: int = 0
    foreign: int = 0
    trackers_exact: int = 0
    conversations: int = 0
    # The first few failures, described, so a failed run says what went wrong.
    problems: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        failures = (
            self.errors,
            self.lost,
            self.duplicated,
            self.reordered,
            self.misrouted,
            self.wrong_reply,
            self.foreign,
        )
        return not any(failures) and self.trackers_exact == self.conversations

    def add(self, other: Check) -> None:
        for name in asdict(self):
            if name != "problems":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems[: MAX_PROBLEMS - len(self.problems)])


async def _send(session: aiohttp.ClientSession, url: str, sender: str, turn: Turn) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": turn.text}) as response:
            turn.status = response.status
            body = await response.text()
        turn.latency_s = time.perf_counter() - started
        if turn.status != 200:
            turn.error = f"HTTP {turn.status}: {body[:200]}"
            return
        replies = json.loads(body)
        if not isinstance(replies, list):
            turn.error = f"reply is not a list: {body[:200]}"
            return
        turn.replies = replies
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        turn.latency_s = time.perf_counter() - started
        turn.error = f"{type(error).__name__}: {error}"


async def converse(
    session: aiohttp.ClientSession,
    base_url: Union[str, Sequence[str]],
    sender: str,
    script: Sequence[str],
    think_s: float = 0.0,
    rng: Optional[random.Random] = None,
) -> Conversation:
    """Send `script` in order, each message only after the previous reply arrived.

    `think_s` is the mean pause before each message (a patient reading and typing),
    drawn uniformly from 0.5-1.5 times it so conversations do not move in lockstep;
    0 sends back to back, the worst case a server can see from that many conversations.
    Several `base_url`s: each message to one of them at random.
    """
    conversation = Conversation(sender, [Turn(text) for text in script])
    rng = rng or random.Random(0)
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    routing = random.Random(f"route-{sender}")
    for turn in conversation.turns:
        if think_s:
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
        url = urls[0] if len(urls) == 1 else routing.choice(urls)
        await _send(session, url.rstrip("/") + REST_PATH, sender, turn)
    return conversation


@dataclass
class LoadRun:
    conversations: List[Conversation]
    wall_s: float

    def latencies(self) -> List[float]:
        """Latencies of answered turns only: a failed request has no meaningful latency."""
        return [
            turn.latency_s
            for conversation in self.conversations
            for turn in conversation.turns
            if turn.error is None and turn.latency_s is not None
        ]


async def run_conversations(
    base_url: Union[str, Sequence[str]],
    conversations: int,
    messages: int,
    seed: int = 42,
    concurrency: Optional[int] = None,
    sender_prefix: Optional[str] = None,
    think_s: float = 0.0,
) -> LoadRun:
    """Run `conversations` scripted conversations, at most `concurrency` at a time.

    `concurrency=None` starts them all at once (the load test); the benchmark passes a
    smaller limit so a fixed number of conversations are in flight at any moment. Each
    sender id gets a random run prefix, so a reused tracker store never mixes runs.
    """
    rng = random.Random(seed)
    prefix = sender_prefix or f"load-{uuid.uuid4().hex[:8]}"
    scripts = [
        (f"{prefix}-{index:04d}", conversation_script(rng, messages))
        for index in range(conversations)
    ]
    limit = asyncio.Semaphore(concurrency or conversations)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(index: int, sender: str, script: List[str]) -> Conversation:
            pauses = random.Random(f"{seed}-{index}")  # reproducible think times
            async with limit:
                return await converse(session, base_url, sender, script, think_s, pauses)

        started = time.perf_counter()
        results = await asyncio.gather(
            *(one(index, sender, script) for index, (sender, script) in enumerate(scripts))
        )
        wall_s = time.perf_counter() - started
    return LoadRun(list(results), wall_s)


def _stored_turns(rows: Iterable[Tuple[str, str]]) -> List[StoredTurn]:
    """(type_name, data) rows of one sender, in order -> its messages with the replies."""
    stored: List[StoredTurn] = []
    for type_name, data in rows:
        event = json.loads(data)
        if type_name == "user":
            stored.append(StoredTurn(event.get("text") or "", []))
        elif type_name == "bot" and stored and event.get("text"):
            stored[-1].bot_texts.append(event["text"])
    return stored


def read_tracker(db_path: Path, sender: str) -> List[StoredTurn]:
    """The user messages of `sender` in the SQLite tracker store, with the bot replies.

    Opened read-only, so checking a live server's store cannot disturb it.
    """
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as connection:
        rows = connection.execute(
            "SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    return _stored_turns(rows)


def sql_tracker_reader(url: str) -> Callable[[str], List[StoredTurn]]:
    """`read_tracker` for a tracker store any SQLAlchemy URL reaches (PostgreSQL)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    query = sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id")

    def read(sender: str) -> List[StoredTurn]:
        with engine.connect() as connection:
            return _stored_turns(connection.execute(query, {"s": sender}).fetchall())

    return read


def check_conversation(conversation: Conversation, stored: List[StoredTurn]) -> Check:
    """Compare what one conversation sent and received with what its tracker holds.

    - lost: a message without a reply, or missing from the tracker;
    - duplicated: a message stored more than once;
    - reordered: stored messages out of the order they were sent in;
    - misrouted: a reply addressed to another sender (`recipient_id`);
    - wrong_reply: the reply received is not what the tracker recorded for that message;
    - foreign: a stored user message this conversation never sent.
    """
    sender = conversation.sender
    turns = conversation.turns
    sent_texts = [turn.text for turn in turns]
    stored_texts = [turn.text for turn in stored]
    counts = Counter(stored_texts)
    check = Check(sent=len(turns), conversations=1)
    check.trackers_exact = int(stored_texts == sent_texts)
    sent_set = set(sent_texts)
    check.foreign = sum(1 for text in stored_texts if text not in sent_set)
    check.duplicated = sum(max(0, counts[text] - 1) for text in sent_set)

    present = [text for text in sent_texts if counts[text]]
    observed: List[str] = []
    for text in stored_texts:
        if text in sent_set and text not in observed:
            observed.append(text)
    check.reordered = sum(1 for a, b in zip(present, observed, strict=False) if a != b)

    first_stored = {}
    for position, turn in enumerate(stored):
        first_stored.setdefault(turn.text, position)

    def problem(kind: str, turn: Turn, **details: Any) -> None:
        if len(check.problems) < MAX_PROBLEMS:
            check.problems.append({"kind": kind, "sender": sender, "text": turn.text, **details})

    for turn in turns:
        if turn.error is not None:
            check.errors += 1
            problem("error", turn, error=turn.error)
        answered = turn.error is None and bool(turn.replies)
        if answered and all(reply.get("recipient_id") == sender for reply in turn.replies):
            check.replies += 1
        elif answered:
            check.misrouted += 1
            problem("misrouted", turn, recipients=[r.get("recipient_id") for r in turn.replies])
        if not answered or turn.text not in first_stored:
            check.lost += 1
            problem("lost", turn, answered=answered, stored=turn.text in first_stored)
            continue
        stored_texts_for_turn = stored[first_stored[turn.text]].bot_texts
        if turn.reply_texts != stored_texts_for_turn:
            check.wrong_reply += 1
            problem("wrong_reply", turn, received=turn.reply_texts, stored=stored_texts_for_turn)
    if not check.trackers_exact and len(check.problems) < MAX_PROBLEMS:
        check.problems.append(
            {"kind": "tracker", "sender": sender, "sent": sent_texts, "stored": stored_texts}
        )
    return check


def check_run(run: LoadRun, tracker: Callable[[str], List[StoredTurn]]) -> Check:
    """Check every conversation of `run` against `tracker(sender)`."""
    total = Check()
    for conversation in run.conversations:
        total.add(check_conversation(conversation, tracker(conversation.sender)))
    return total


def report(run: LoadRun, check: Check, **context: Any) -> Dict[str, Any]:
    """The JSON-ready result of a load run: correctness counts, latency and throughput."""
    timing = latency_summary(run.latencies(), run.wall_s)
    return {
        **context,
        "ok": check.ok,
        **asdict(check),
        "p50_ms": timing["p50_ms"],
        "p95_ms": timing["p95_ms"],
        "p99_ms": timing["p99_ms"],
        "mean_ms": timing["mean_ms"],
        "throughput_msg_per_s": timing["throughput_per_s"],
        "wall_s": timing["wall_s"],
    }
