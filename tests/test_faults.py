"""The action server down, slow or failing: patients still get a safe reply, at once.

Stock Rasa logs the error and sends nothing. `bot.channels.fallback` makes every
public channel answer with an apology and the clinic's contact (or the red-flag
advice when the message has a red flag) within a few seconds, and the next message
after the action server is back is answered normally.

Two layers:
- the fallback wrapper in-process, with stand-ins for Rasa that are silent, fail or
  hang;
- a real Rasa with the trained model, whose action server is killed and restarted
  mid-conversation, and replaced by stubs that hang or answer 500 on the same port.

docs/reliability.md ("Faults") maps each fault to the test that proves it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels import fallback
from bot.channels.output import WholeMessageCollector
from bot.channels.signed_webhook import sign
from harness.client import new_sender, post, rest_text
from harness.servers import Servers, wait_for
from harness.socket_chat import SocketChat

CLINIC_PHONE = "555-0199"
SECRET = "test-secret-" + uuid.uuid4().hex
APOLOGY = "Sorry, I can't answer right now"
REPLY_TIMEOUT = 3.0
# The time limit plus Rasa's own work on a busy 2-core machine: "within a few seconds",
# a bound that still proves the 60 s hang of the stand-in never reaches the patient.
PROMPT = REPLY_TIMEOUT + 7.0


@pytest.fixture(autouse=True)
def clinic(monkeypatch, tmp_path) -> None:
    """Known clinic settings for the in-process tests."""
    monkeypatch.setenv("CLINIC_NAME", "Fault Spine Clinic")
    monkeypatch.setenv("CLINIC_PHONE", CLINIC_PHONE)
    monkeypatch.setenv("CLINIC_CONFIG", "")


# --- the fallback wrapper, in-process ---------------------------------------------------


class StandIn:
    """A stand-in for Rasa's on_new_message: answers, stays silent, fails or hangs."""

    def __init__(self, mode: str = "answer", delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self.received: List[str] = []
        self.cancelled = False

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message.text or "")
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.mode == "fail":
            raise RuntimeError("action server refused the connection")
        if self.mode == "answer":
            await message.output_channel.send_response(message.sender_id, {"text": "an answer"})


async def turn(stand_in: StandIn, text: str, timeout: float = 1.0) -> List[str]:
    return [m["text"] for m in await turn_messages(stand_in, text, timeout)]


async def turn_messages(stand_in: StandIn, text: str, timeout: float = 1.0) -> List[dict]:
    collector = WholeMessageCollector()
    message = UserMessage(text, collector, "patient-1", input_channel="rest")
    await fallback.run_turn(stand_in, message, timeout=timeout)
    return collector.messages


async def test_an_answer_passes_through_untouched() -> None:
    stand_in = StandIn("answer")
    assert await turn(stand_in, "does it\u200b hurt?") == ["an answer"]
    assert stand_in.received == ["does it hurt?"]


@pytest.mark.parametrize("mode", ["silent", "fail"])
async def test_silence_or_an_error_gets_the_apology_with_the_clinic_phone(mode: str) -> None:
    [reply] = await turn(StandIn(mode), "does it hurt?")
    assert reply.startswith(APOLOGY)
    assert f"Fault Spine Clinic at {CLINIC_PHONE}" in reply
    assert "911" in reply


async def test_a_hanging_turn_is_cut_off_at_the_time_limit() -> None:
    stand_in = StandIn("answer", delay=30)
    started = time.monotonic()
    [reply] = await turn(stand_in, "does it hurt?", timeout=0.3)
    assert time.monotonic() - started < 15  # a bound, far below the 30 s hang
    assert reply.startswith(APOLOGY)
    assert stand_in.cancelled  # nothing is left running for that patient


@pytest.mark.parametrize("mode", ["silent", "fail"])
async def test_a_red_flag_gets_the_emergency_advice_never_just_an_apology(mode: str) -> None:
    [message] = await turn_messages(StandIn(mode), "does it hurt? i lost control of my bladder")
    reply = message["text"]
    assert "911" in reply
    assert not reply.startswith(APOLOGY)
    assert CLINIC_PHONE in reply
    assert message["custom"] == {"urgency": "emergency"}


async def test_a_hanging_red_flag_turn_gets_the_emergency_advice() -> None:
    [reply] = await turn(StandIn("answer", delay=30), "crushing pain in my chest", timeout=0.2)
    assert "911" in reply and not reply.startswith(APOLOGY)


async def test_canned_replies_need_no_rasa() -> None:
    stand_in = StandIn("fail")
    assert "too long" in (await turn(stand_in, "a" * 2001))[0]
    assert "typed in words" in (await turn(stand_in, "?!"))[0]
    assert stand_in.received == []


def test_the_time_limit_comes_from_the_environment() -> None:
    assert fallback.reply_timeout({}) == fallback.DEFAULT_TIMEOUT
    assert fallback.reply_timeout({"ACTION_REPLY_TIMEOUT": ""}) == fallback.DEFAULT_TIMEOUT
    assert fallback.reply_timeout({"ACTION_REPLY_TIMEOUT": "2.5"}) == 2.5
    for bad in ("soon", "0", "-3", "nan", "inf", "601"):
        with pytest.raises(ValueError, match="ACTION_REPLY_TIMEOUT must be a number of seconds"):
            fallback.reply_timeout({"ACTION_REPLY_TIMEOUT": bad})


async def test_counting_channel_forwards_the_real_channel_name() -> None:
    inner = CollectingOutputChannel()
    counting = fallback.CountingOutputChannel(inner)
    assert counting.name() == "collector"
    await counting.send_response("p", {"text": "one"})
    assert counting.sent == 1 and inner.messages[0]["text"] == "one"


# --- end to end: real Rasa, real model ----------------------------------------------

STUB = """
import asyncio, sys
from aiohttp import web

mode, port = sys.argv[1], int(sys.argv[2])

async def health(request):
    return web.json_response({"status": "ok"})

async def webhook(request):
    if mode == "slow":
        await asyncio.sleep(60)
    return web.json_response({"error": "boom"}, status=500)

app = web.Application()
app.router.add_get("/health", health)
app.router.add_post("/webhook", webhook)
web.run_app(app, host="127.0.0.1", port=port, print=None)
"""


class FaultyServers(Servers):
    """Servers whose action server can be killed, restarted, or replaced by a stub."""

    action: Optional[subprocess.Popen] = None

    def start_actions(self, env: Optional[dict] = None) -> None:
        super().start_actions(env)
        self.action = self.process("actions")

    def kill_actions(self) -> None:
        """SIGKILL, as a crash would: no graceful shutdown."""
        assert self.action is not None
        self.action.send_signal(signal.SIGKILL)
        self.action.wait(timeout=20)
        self.processes.remove(self.action)
        self.by_name.pop("actions", None)
        self.action = None
        self._wait_port_free()

    def start_stub(self, mode: str) -> None:
        """A stand-in action server on the same port: hangs ("slow") or answers 500."""
        script = self.workdir / "stub_action_server.py"
        script.write_text(STUB)
        name = f"actions-stub-{mode}"
        self.action = self._spawn(
            name, [sys.executable, str(script), mode, str(self.action_port)], self.env
        )
        wait_for(f"http://127.0.0.1:{self.action_port}/health", self.action, self.logs[name])

    def _wait_port_free(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.action_port}/health", timeout=1)
            except OSError:
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[FaultyServers]:
    workdir = tmp_path_factory.mktemp("faults")
    env = {
        "ACTION_REPLY_TIMEOUT": str(REPLY_TIMEOUT),
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_DB": str(workdir / "webhook.sqlite3"),
        "SMS_OUTBOX": str(workdir / "outbox.jsonl"),
        "CLINIC_NAME": "Fault Spine Clinic",
        "CLINIC_PHONE": CLINIC_PHONE,
        "CLINIC_CONFIG": "",
    }
    running = FaultyServers(workdir, env)
    try:
        running.start_actions()
        running.start_rasa()
        running.outbox = Path(env["SMS_OUTBOX"])
        # One turn first: a cold server's first parse can outlast the short reply timeout
        # these tests set on a busy machine, which is not the fault under test.
        rest(running, new_sender(), "hello")
        yield running
    finally:
        running.stop()


def rest(servers: Servers, sender: str, text: str) -> str:
    """Like `webhook` and `sms`: (servers, sender, text) -> the reply text."""
    return rest_text(servers, text, sender)


def webhook(servers: Servers, sender: str, text: str) -> str:
    body = json.dumps({"message_id": uuid.uuid4().hex, "sender": sender, "text": text}).encode()
    request = urllib.request.Request(
        servers.url + "/webhooks/signed_webhook/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Signature-SHA256": sign(SECRET, body)},
    )
    with urllib.request.urlopen(request, timeout=90) as response:
        assert response.status == 200
        return "\n\n".join(reply["text"] for reply in json.loads(response.read())["replies"])


def sms(servers: Servers, phone: str, text: str) -> str:
    before = len(servers.outbox.read_text().splitlines()) if servers.outbox.exists() else 0
    form = urllib.parse.urlencode({"From": phone, "Body": text, "MessageSid": "SM1"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, raw = post(servers, "/webhooks/twilio_sms/webhook", form, headers)
    assert status == 204, raw
    lines = servers.outbox.read_text().splitlines()[before:]
    return "\n".join(json.loads(line)["body"] for line in lines)


def timed(ask, *args: Any) -> tuple:
    started = time.monotonic()
    answer = ask(*args)
    return answer, time.monotonic() - started


def assert_apology(answer: str, took: Optional[float] = None) -> None:
    assert APOLOGY in answer, answer
    assert CLINIC_PHONE in answer
    if took is not None:
        assert took < PROMPT, f"the apology took {took:.1f} s"


async def socket_answer(servers: Servers, text: str) -> str:
    chat = SocketChat(servers)
    await chat.connect()
    try:
        return await chat.ask(text, timeout=PROMPT + 5)
    finally:
        await chat.close()


@pytest.mark.slow
def test_e2e_action_server_killed_then_restarted_mid_conversation(servers, store) -> None:
    sender = new_sender()
    first = rest(servers, sender, "what is a medial branch block")
    assert store.fact("mbb_what_is").answer in first

    servers.kill_actions()
    answer, took = timed(rest, servers, sender, "how long does it last?")
    assert_apology(answer, took)
    # Every public channel says the same instead of nothing.
    assert_apology(*timed(webhook, servers, new_sender(), "does it hurt?"))
    assert_apology(sms(servers, "+15550001234", "does it hurt?"))
    assert_apology(asyncio.run(socket_answer(servers, "does it hurt?")))
    # A red flag still gets the emergency advice, not an apology.
    urgent, took = timed(rest, servers, sender, "i lost control of my bladder")
    assert "911" in urgent and APOLOGY not in urgent and took < PROMPT

    servers.start_actions()
    again = rest(servers, sender, "how long does it last?")
    assert APOLOGY not in again
    assert again.startswith(store.fact("mbb_duration").answer)  # the procedure was kept
    assert "Source:" in again


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["slow", "error"])
def test_e2e_slow_or_failing_action_server(servers, store, mode: str) -> None:
    servers.kill_actions()
    servers.start_stub(mode)
    try:
        sender = new_sender()
        answer, took = timed(rest, servers, sender, "does a facet injection hurt?")
        assert_apology(answer, took)
        assert_apology(*timed(webhook, servers, new_sender(), "what is an mbb"))
        urgent, took = timed(rest, servers, new_sender(), "crushing pain in my chest")
        assert "911" in urgent and APOLOGY not in urgent and took < PROMPT
        # The server was not blocked meanwhile: the same patient can ask again at once.
        assert_apology(*timed(rest, servers, sender, "does it hurt?"))
    finally:
        servers.kill_actions()
        servers.start_actions()
    answer = rest(servers, new_sender(), "does a facet injection hurt?")
    assert store.fact("pain_during").answer in answer
