"""SMS numbered choices that every replica sees and that survive a restart: kept in Redis.

On SMS, follow-up buttons become "Reply 1, 2 or 3" (bot/channels/plain_text.py) and the
patient's "2" is mapped back to the second question. The default memory of what was
offered lives in the process; with several Rasa replicas the "2" may reach another
process than the one that offered the choices, and a restart forgets them. With
`REDIS_URL` set, the offers are kept in Redis instead (one key per phone number, gone
after CHOICES_TTL_SECONDS), the same interface as plain_text.ChoiceMemory.

If Redis cannot be reached the number goes on as typed, which the assistant answers by
asking the patient to rephrase: a lost choice, never a wrong answer or a lost message.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Optional, Sequence, Tuple

from bot.channels.plain_text import ChoiceMemory, resolve_choice

logger = logging.getLogger(__name__)

REDIS_URL_ENV = "REDIS_URL"
# A day: a patient answering "2" to yesterday's choices still gets what they picked.
CHOICES_TTL_SECONDS = 24 * 3600
KEY_PREFIX = "spine-faq:sms-choices:"


class RedisChoiceMemory:
    """plain_text.ChoiceMemory's interface, stored in Redis for every replica."""

    def __init__(self, url: str, client: Any = None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.client = client

    def _key(self, sender: str) -> str:
        return KEY_PREFIX + sender

    def offer(self, sender: str, payloads: Sequence[str]) -> None:
        """Remember the numbered choices just sent to `sender` (replacing older ones)."""
        try:
            self.client.set(self._key(sender), json.dumps(list(payloads)), ex=CHOICES_TTL_SECONDS)
        except Exception as error:  # the SMS still goes out; only the shortcut is lost
            logger.error("sms choices: not stored (%s)", type(error).__name__)

    def clear(self, sender: str) -> None:
        """Forget `sender`'s choices: numbers refer only to the latest bot turn."""
        try:
            self.client.delete(self._key(sender))
        except Exception as error:
            logger.error("sms choices: not cleared (%s)", type(error).__name__)

    def offered(self, sender: str) -> Tuple[str, ...]:
        try:
            raw = self.client.get(self._key(sender))
        except Exception as error:
            logger.error("sms choices: not read (%s)", type(error).__name__)
            return ()
        try:
            values = json.loads(raw) if raw else []
        except ValueError:
            return ()
        return tuple(str(value) for value in values if isinstance(value, str))

    def resolve(self, sender: str, text: str) -> str:
        """`text`, or the payload it selects among the choices last offered to `sender`."""
        return resolve_choice(text, self.offered(sender))


def choice_memory_from_env(environ: Optional[dict] = None) -> Any:
    """RedisChoiceMemory when REDIS_URL is set, else the in-process memory."""
    url = (os.environ if environ is None else environ).get(REDIS_URL_ENV, "").strip()
    return RedisChoiceMemory(url) if url else ChoiceMemory()
