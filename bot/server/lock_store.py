"""A conversation lock that holds across Rasa replicas: Rasa's ticket lock, made atomic in Redis.

Rasa processes one conversation's messages one at a time, in arrival order, by handing
each message a ticket and serving the lowest. Its RedisLockStore keeps the whole lock
as one pickled value and changes it by read-modify-write from Python, so two replicas
issuing tickets at the same moment can both read the same state and one ticket is lost:
two messages of one patient then run at once (interleaved replies, a lost slot). Here
each step is one Lua script, which Redis runs atomically:

- `issue`: the next ticket number (INCR) joins the conversation's queue (a sorted set)
  with its expiry time taken from Redis's own clock (so replicas' clocks do not matter);
- `turn`: expired tickets leave the queue (a replica that crashed while holding the
  lock frees it after the lock lifetime, TICKET_LOCK_LIFETIME, 60 s by default); the
  ticket holds the lock when it is the lowest one left;
- `release`: the ticket leaves; the keys go with the last one, and every key also
  expires on its own, so nothing is left behind after a crash.

Plug it in with endpoints.yml:

    lock_store:
      type: bot.server.lock_store.AtomicRedisLockStore
      url: redis://127.0.0.1:6379/0    # or ${REDIS_URL}
      key_prefix: spine-faq             # optional

Only `lock()` is used by Rasa 3.6 (Agent.handle_message and the HTTP API); the
read-modify-write helpers of the base class are not offered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

logger = logging.getLogger(__name__)

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "spine-faq"
# How often a waiting message checks whether its turn came: short, because a turn takes
# well under a second here (Rasa's own store waits a whole second between checks).
POLL_SECONDS = (0.01, 0.02, 0.05, 0.1)

_NOW_MS = "local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)"

# KEYS: counter, queue, expiries. ARGV: lifetime in ms. Returns the ticket.
ISSUE = f"""
{_NOW_MS}
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ticket)
redis.call('HSET', KEYS[3], ticket, now + tonumber(ARGV[1]))
local keep = tonumber(ARGV[1]) * 2
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], keep) end
return ticket
"""

# KEYS: queue, expiries. ARGV: ticket. Returns 1 (holds the lock), 0 (wait), -1 (expired).
TURN = f"""
{_NOW_MS}
local expiries = redis.call('HGETALL', KEYS[2])
for i = 1, #expiries, 2 do
  if tonumber(expiries[i + 1]) < now then
    redis.call('ZREM', KEYS[1], expiries[i])
    redis.call('HDEL', KEYS[2], expiries[i])
  end
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
local first = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if tonumber(first) == tonumber(ARGV[1]) then return 1 end
return 0
"""

# KEYS: counter, queue, expiries. ARGV: ticket. Returns how many tickets are left.
RELEASE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return left
"""


class AtomicRedisLockStore(LockStore):
    """Rasa lock store whose ticket lock is atomic across processes (see module docs)."""

    def __init__(
        self,
        endpoint_config: Any = None,
        url: Optional[str] = None,
        key_prefix: Optional[str] = None,
        client: Any = None,
    ) -> None:
        kwargs = dict(getattr(endpoint_config, "kwargs", None) or {})
        self.url = url or getattr(endpoint_config, "url", None) or DEFAULT_URL
        self.prefix = key_prefix or kwargs.get("key_prefix") or DEFAULT_PREFIX
        if client is None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self.url, socket_timeout=5)
        self.client = client
        self._issue = client.register_script(ISSUE)
        self._turn = client.register_script(TURN)
        self._release = client.register_script(RELEASE)

    async def ping(self) -> None:
        """Raise when Redis cannot be reached (the health check's probe)."""
        await self.client.ping()

    def _keys(self, conversation_id: str) -> list:
        base = f"{self.prefix}:lock:{conversation_id}"
        return [f"{base}:next", f"{base}:queue", f"{base}:expiry"]

    @asynccontextmanager
    async def lock(  # type: ignore[override]
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock: after every earlier ticket, before later ones."""
        counter, queue, expiries = self._keys(conversation_id)
        lifetime_ms = max(int(lock_lifetime * 1000), 1)
        try:
            ticket = int(await self._issue(keys=[counter, queue, expiries], args=[lifetime_ms]))
        except Exception as error:  # the lock is how Rasa keeps order: never skip it
            raise LockError(f"lock store unavailable: {type(error).__name__}") from None
        try:
            await self._wait_for_turn(conversation_id, ticket)
            # Rasa's view of it: this conversation, now serving this ticket.
            expires = time.time() + lock_lifetime
            yield TicketLock(conversation_id, deque([Ticket(ticket, expires)]))
        finally:
            try:
                await self._release(keys=[counter, queue, expiries], args=[ticket])
            except Exception as error:  # the ticket expires on its own
                logger.error("lock store: could not release a ticket (%s)", type(error).__name__)

    async def _wait_for_turn(self, conversation_id: str, ticket: int) -> None:
        _, queue, expiries = self._keys(conversation_id)
        attempt = 0
        while True:
            try:
                state = int(await self._turn(keys=[queue, expiries], args=[ticket]))
            except Exception as error:
                raise LockError(f"lock store unavailable: {type(error).__name__}") from None
            if state == 1:
                return
            if state == -1:
                raise LockError("the ticket expired before its turn came")
            await asyncio.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
            attempt += 1

    # The base class's read-modify-write API is what this store replaces.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        raise NotImplementedError("AtomicRedisLockStore offers lock() only")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("AtomicRedisLockStore offers lock() only")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore offers lock() only")
