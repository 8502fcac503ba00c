"""Every public channel's way into Rasa: clean the text, and never answer with silence.

Stock Rasa logs an error and sends *nothing* when the action server is down, answers
500, or is slow (it waits up to 5 minutes): on a patient-facing channel that is a
question left unanswered with no hint why. `protect()` wraps the `on_new_message`
callback Rasa gives each channel:

1. The text is cleaned by `bot.channels.guard`; a message that is too long or has
   nothing readable gets its canned reply without reaching NLU (a red flag in a long
   message still gets the emergency advice).
2. The turn runs with a time limit (`ACTION_REPLY_TIMEOUT`, default 8 s) and an output
   channel that counts what the bot sent.
3. If the turn sent nothing, timed out or raised, the patient gets a safe reply: the
   red-flag advice when the text has a red flag, else an apology with the clinic's
   contact. The next message is processed normally: nothing is remembered, so when
   the action server is back the patient is answered as usual.

Patient text is never logged here, only the sender-independent reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.channels import guard
from bot.core import answers, environment, safety
from bot.core.answers import Reply
from bot.core.facts import FactStore, FactStoreError, ReloadingFactStore
from bot.core.outcomes import SMALL_TALK
from bot.core.settings import ClinicSettings, SettingsError, current_settings
from bot.server import metrics

logger = logging.getLogger(__name__)

TIMEOUT_ENV = "ACTION_REPLY_TIMEOUT"
DEFAULT_TIMEOUT = 8.0
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 600.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

_store = ReloadingFactStore()


def reply_timeout(environ: Optional[Dict[str, str]] = None) -> float:
    """Seconds a turn may take before the patient gets the apology (env, else 8).

    Read when a channel starts: a malformed value stops start-up with the variable's
    name, rather than quietly becoming some other limit.
    """
    return environment.bounded_number(
        TIMEOUT_ENV,
        DEFAULT_TIMEOUT,
        MIN_TIMEOUT,
        MAX_TIMEOUT,
        f"a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}",
        environ,
    )


class CountingOutputChannel(OutputChannel):
    """Passes every bot message on to the real channel and counts them.

    Rasa sends all bot messages through `send_response`; `name()` is forwarded so
    channel-specific responses still resolve for the real channel.
    """

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0
        self.outcome: Optional[str] = None  # of the first reply (its metadata)
        self.urgency: Optional[str] = None

    def name(self) -> str:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.sent += 1
        if self.outcome is None and isinstance(message.get("outcome"), str):
            self.outcome = message["outcome"]
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("urgency"), str):
            self.urgency = custom["urgency"]
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)


def _settings() -> ClinicSettings:
    """The clinic settings; a broken settings file must not stop the apology."""
    try:
        return current_settings()
    except SettingsError:
        logger.exception("clinic settings are broken; the fallback reply uses placeholders")
        return ClinicSettings()


def _fact_store() -> Optional[FactStore]:
    try:
        return _store.get()
    except (FactStoreError, OSError):
        logger.exception("fact store unavailable; the reply has no suggested questions")
        return None


def red_flag_reply(text: str, settings: ClinicSettings) -> Optional[Reply]:
    """The emergency advice when `text` has a present red flag, else None."""
    try:
        assessment = safety.assess(text)
    except Exception:  # noqa: BLE001 - the rules cannot run: never hide an emergency
        logger.exception("red-flag rules unavailable in the fallback")
        return answers.answer_red_flag(answers.EMERGENCY_LINE, "emergency", settings)
    if assessment.urgency is None:
        return None
    return answers.answer_red_flag(assessment.advice, assessment.urgency, settings)


def fallback_reply(text: str) -> Reply:
    """What to say when the bot could not answer: red-flag advice first, else an apology."""
    settings = _settings()
    return red_flag_reply(text, settings) or answers.answer_unavailable(settings)


def canned_replies(cleaned: guard.Cleaned) -> List[Reply]:
    """Replies for a message that does not go to NLU (too long, unreadable)."""
    if cleaned.verdict is guard.Verdict.TOO_LONG:
        flagged = red_flag_reply(cleaned.text, _settings())
        too_long = answers.answer_too_long(guard.MAX_MESSAGE_CHARS)
        return [flagged, too_long] if flagged else [too_long]
    if cleaned.verdict is guard.Verdict.UNREADABLE:
        return [answers.answer_unreadable(_fact_store())]
    return []


async def send_reply(output: OutputChannel, recipient_id: str, reply: Reply) -> None:
    """Send one Reply through any Rasa output channel, as a bot message would be."""
    message: Dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        message["buttons"] = [button.as_dict() for button in reply.buttons]
    if reply.custom():
        message["custom"] = reply.custom()
    await output.send_response(recipient_id, message)


async def run_turn(
    on_new_message: OnNewMessage, message: UserMessage, timeout: Optional[float] = None
) -> None:
    """Process one patient message with cleaning, a time limit and a safe fallback."""
    started = time.monotonic()
    cleaned = guard.clean(message.text or "")
    output = message.output_channel
    channel = message.input_channel
    if cleaned.verdict is not guard.Verdict.OK:
        logger.info("%s: message not sent to NLU (%s)", channel, cleaned.verdict.value)
        replies = canned_replies(cleaned)
        for reply in replies:
            await send_reply(output, message.sender_id, reply)
        first = replies[0] if replies else answers.answer_unreadable()
        seconds = time.monotonic() - started
        metrics.record_turn(channel, first.outcome, seconds, first.urgency)
        return

    counting = CountingOutputChannel(output)
    message.text = cleaned.text
    message.output_channel = counting
    limit = reply_timeout() if timeout is None else timeout
    failure: Optional[str] = None
    try:
        await asyncio.wait_for(on_new_message(message), timeout=limit)
    except asyncio.TimeoutError:
        failure = "timeout"
        logger.error(
            "%s: no answer within %.1f s (action server slow?); sent the fallback reply",
            channel,
            limit,
        )
    except Exception:
        failure = "error"
        logger.exception("%s: processing failed; sent the fallback reply", channel)
    finally:
        message.output_channel = output
    if failure is None and counting.sent:
        # Replies without an outcome are the domain's small-talk responses (domain.yml).
        outcome = counting.outcome or SMALL_TALK
        metrics.record_turn(channel, outcome, time.monotonic() - started, counting.urgency)
        return
    if failure is None:
        failure = "no_reply"
        logger.error(
            "%s: the turn produced no bot message after %.1f s (action server down or"
            " failing?); sent the fallback reply",
            channel,
            time.monotonic() - started,
        )
    reply = fallback_reply(cleaned.text)
    await send_reply(output, message.sender_id, reply)
    seconds = time.monotonic() - started
    metrics.record_turn(channel, reply.outcome, seconds, reply.urgency, failure)


async def hand_over(on_new_message: OnNewMessage, message: UserMessage) -> bool:
    """Give `message` to a channel's handler; False (logged, no text) if that raised.

    `protect` already answers every failure of the assistant itself. What can still
    raise is a channel's own delivery, e.g. the SMS provider refusing a reply: the
    webhook channels then answer 500 so the platform retries the message later.
    """
    try:
        await on_new_message(message)
    except Exception:
        logger.exception(
            "%s: could not process message %s", message.input_channel, message.message_id
        )
        return False
    return True


def protect(on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message` with cleaning and the fallback; give it to a channel's routes.

    Called when a channel builds its routes, so the time limit is read (and checked)
    at start-up.
    """
    limit = reply_timeout()

    async def protected(message: UserMessage) -> None:
        await run_turn(on_new_message, message, timeout=limit)

    return protected
