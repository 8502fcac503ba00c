"""Health of the running assistant: model, action server and tracker store.

Rasa's own `GET /` says only that the web server is up. When the tracker store is
unreachable Rasa keeps answering: it logs one line per failed save and keeps that
conversation in memory (another replica never sees it, and a restart loses it), so
nobody notices. Here a tracker store failure refuses the turn instead: the patient gets
the fallback reply (red-flag advice first, bot/channels/fallback.py) and can send it
again, and nothing is answered that was not recorded. When the action server is down
every answer fails. This channel makes both visible to a load balancer or monitor:

    GET /webhooks/health/  ->  200 when everything is fine, 503 otherwise
    {"status": "ok" | "fail",
     "model": {"ok", "loaded", "name", "id"},
     "action_server": {"ok", "detail"},
     "tracker_store": {"ok", "type", "detail", "failures"},
     "lock_store": {"ok", "type", "detail"}}

    GET /webhooks/health/metrics?token=<RASA_AUTH_TOKEN>  ->  Prometheus counts and
    timings (bot/server/metrics.py); 403 without the API token

Details are error *types* only: no URLs, credentials, SQL or patient data, since the
endpoint is as public as the chat itself.

At start-up it checks the tracker store and logs an ERROR that cannot be missed when
it is unavailable, and it replaces Rasa's per-failure log line (which can quote the
patient's message, see bot/server/logging_privacy.py) by one without the data that also
counts the failure for this report. Register it in credentials.yml as
`bot.server.health.HealthInput:`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable, Dict, Optional

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.server import logging_privacy, metrics, rasa_internals

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
# A save or read that failed this recently makes the tracker store unhealthy even if a
# fresh probe succeeds: a read-only or full disk answers SELECTs but refuses INSERTs.
FAILURE_WINDOW = 300.0
PROBE_SENDER = "__health_check__"


@dataclass
class Check:
    """The result of one check, as it appears in the JSON report."""

    ok: bool
    detail: str
    extra: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {**data, **extra}


@dataclass
class FailureLog:
    """Tracker store failures seen by Rasa's fail-safe wrapper since start-up."""

    count: int = 0
    last_type: str = ""
    last_time: float = 0.0

    def record(self, error: Exception) -> None:
        self.count += 1
        self.last_type = type(error).__name__
        self.last_time = time.monotonic()
        # Replaces Rasa's log line, which includes str(error): for SQL errors that
        # is the failed INSERT's parameters, the patient's message among them.
        logger.error(
            "TRACKER STORE FAILURE (%s, %d since start): this conversation is not being"
            " saved (kept in memory only, lost on restart). GET /webhooks/health/ shows"
            " the state; check the database.",
            self.last_type,
            self.count,
        )

    def recent(self, window: float = FAILURE_WINDOW) -> bool:
        return self.count > 0 and time.monotonic() - self.last_time < window

    def refuse(self, error: Exception) -> None:
        """Rasa's fail-safe hook: count the failure, then fail the turn (see above)."""
        self.record(error)
        raise TrackerStoreUnavailable(type(error).__name__) from error

    def recovered(self) -> None:
        """A write went through again: earlier failures no longer make it unhealthy."""
        self.last_time = 0.0


class TrackerStoreUnavailable(RuntimeError):
    """A turn refused because its conversation could not be read or saved."""


def _sql_probe(engine: Any) -> None:
    """A read that fails when the database is unreachable or the table is missing."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1 FROM events LIMIT 1")).fetchall()


def _sql_write_probe(engine: Any) -> None:
    """A committed write that leaves nothing behind: fails on a read-only or full disk.

    Run only after failures, to tell when saving works again; the row is inserted and
    deleted in one transaction, so no reader ever sees it.
    """
    import sqlalchemy as sa

    with engine.begin() as connection:
        parameters = {"sender": PROBE_SENDER, "now": time.time()}
        connection.execute(
            sa.text(
                "INSERT INTO events (sender_id, type_name, timestamp, data)"
                " VALUES (:sender, 'health_probe', :now, '{}')"
            ),
            parameters,
        )
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = :sender"), parameters)


async def check_tracker_store(
    agent: Any, failures: FailureLog, timeout: float = DEFAULT_TIMEOUT
) -> Check:
    """Probe the configured tracker store; in-memory counts as a failure (not persisted)."""
    from rasa.core.tracker_store import InMemoryTrackerStore

    if agent is None or getattr(agent, "tracker_store", None) is None:
        return Check(False, "no agent loaded", {"type": None})
    store = rasa_internals.inner_tracker_store(agent.tracker_store)
    kind = type(store).__name__
    extra: Dict[str, Any] = {"type": kind, "failures": failures.count}
    if isinstance(store, InMemoryTrackerStore):
        return Check(
            False,
            "conversations are kept in memory only and lost on restart"
            " (no usable tracker_store in endpoints.yml)",
            extra,
        )
    try:
        engine = getattr(store, "engine", None)
        if engine is not None:
            # SQLAlchemy is blocking: a worker thread keeps the server answering.
            await asyncio.wait_for(asyncio.to_thread(_sql_probe, engine), timeout)
        else:
            await asyncio.wait_for(store.retrieve(PROBE_SENDER), timeout)
    except asyncio.TimeoutError:
        return Check(False, f"unreachable: no answer within {timeout:g}s", extra)
    except Exception as error:  # any driver error means the same: unusable
        return Check(False, f"unreachable: {type(error).__name__}", extra)
    if failures.recent() and engine is not None:
        try:
            await asyncio.wait_for(asyncio.to_thread(_sql_write_probe, engine), timeout)
            failures.recovered()
        except Exception:  # noqa: BLE001 - still failing: reported below
            pass
    if failures.recent():
        return Check(
            False,
            f"a save or read failed {time.monotonic() - failures.last_time:.0f}s ago"
            f" ({failures.last_type})",
            extra,
        )
    return Check(True, "ok", extra)


async def check_lock_store(agent: Any, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """The conversation lock: in this process only, or a Redis every replica shares.

    Without its lock store Rasa cannot take a message at all (the turn fails), so an
    unreachable Redis makes the whole assistant unhealthy.
    """
    store = getattr(agent, "lock_store", None)
    if store is None:
        return Check(False, "no agent loaded", {"type": None})
    kind = type(store).__name__
    ping = getattr(store, "ping", None)  # bot.server.lock_store.AtomicRedisLockStore
    if ping is None and hasattr(store, "red"):  # Rasa's RedisLockStore: a blocking client
        ping = lambda: asyncio.to_thread(store.red.ping)  # noqa: E731
    if ping is None:
        return Check(True, "in this process only (one Rasa process)", {"type": kind})
    try:
        await asyncio.wait_for(ping(), timeout)
    except asyncio.TimeoutError:
        return Check(False, f"unreachable: no answer within {timeout:g}s", {"type": kind})
    except Exception as error:  # any client error means the same: no lock, no turn
        return Check(False, f"unreachable: {type(error).__name__}", {"type": kind})
    return Check(True, "ok", {"type": kind})


def action_base_url(webhook_url: str) -> str:
    """http://host:5055/webhook -> http://host:5055 (where /health and /actions live)."""
    url = webhook_url.rstrip("/")
    if url.endswith("/webhook"):
        url = url[: -len("/webhook")]
    return url


async def check_action_server(agent: Any, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """Can Rasa run actions? GET /actions with Rasa's own headers (the shared secret).

    /actions rather than /health: it also proves the action server accepts the token
    Rasa sends, the failure a mismatched ACTION_SERVER_TOKEN would cause.
    """
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is None or not endpoint.url:
        return Check(False, "no action_endpoint in endpoints.yml")
    url = action_base_url(endpoint.url) + "/actions"
    try:
        async with aiohttp.ClientSession(
            headers=endpoint.headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as session:
            async with session.get(url) as reply:
                if reply.status in (401, 403):
                    return Check(False, f"refuses Rasa's X-Action-Token (HTTP {reply.status})")
                if reply.status != 200:
                    return Check(False, f"HTTP {reply.status}")
                actions = await reply.json()
    except asyncio.TimeoutError:
        return Check(False, f"no answer within {timeout:g}s")
    except aiohttp.ClientError as error:
        return Check(False, f"unreachable: {type(error).__name__}")
    except ValueError:
        return Check(False, "answered something that is not JSON")
    return Check(True, "ok", {"actions": len(actions) if isinstance(actions, list) else None})


def check_model(agent: Any) -> Check:
    if agent is None or not agent.is_ready():
        return Check(False, "no model loaded", {"loaded": False, "name": None, "id": None})
    return Check(True, "ok", {"loaded": True, "name": agent.model_name, "id": agent.model_id})


def watch_tracker_store(agent: Any, failures: FailureLog) -> None:
    """Route Rasa's fail-safe tracker store errors to `failures`, which refuses the
    turn (idempotent)."""
    rasa_internals.route_tracker_store_errors(
        getattr(agent, "tracker_store", None), failures.refuse
    )


async def report(agent: Any, failures: FailureLog, timeout: float) -> Dict[str, Any]:
    """The whole health report; checks run concurrently, each bounded by `timeout`."""
    watch_tracker_store(agent, failures)
    tracker, action, lock = await asyncio.gather(
        check_tracker_store(agent, failures, timeout),
        check_action_server(agent, timeout),
        check_lock_store(agent, timeout),
    )
    model = check_model(agent)
    ok = model.ok and tracker.ok and action.ok and lock.ok
    return {
        "status": "ok" if ok else "fail",
        "model": model.as_dict(),
        "action_server": action.as_dict(),
        "tracker_store": tracker.as_dict(),
        "lock_store": lock.as_dict(),
    }


class HealthInput(InputChannel):
    """`GET /webhooks/health/`: the report above. It receives no messages."""

    @classmethod
    def name(cls) -> str:
        return "health"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> HealthInput:
        # The launcher installs log scrubbing; this covers a plain `rasa run` as well.
        logging_privacy.install()
        credentials = credentials or {}
        return cls(timeout=float(credentials.get("timeout", DEFAULT_TIMEOUT)))

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.failures = FailureLog()

    async def startup_check(self, agent: Any) -> Dict[str, Any]:
        """Log loudly what is broken at start-up; return the report."""
        result = await report(agent, self.failures, self.timeout)
        tracker = result["tracker_store"]
        if not tracker["ok"]:
            logger.error(
                "\n%s\nTRACKER STORE UNAVAILABLE (%s): %s.\nConversations will NOT be"
                " saved; patients lose their history on restart. Fix the tracker_store in"
                " endpoints.yml; GET /webhooks/health/ answers 503 until then.\n%s",
                "!" * 78,
                tracker["type"],
                tracker["detail"],
                "!" * 78,
            )
        if not result["model"]["ok"]:
            logger.error("health: no model loaded; the assistant cannot answer")
        if not result["action_server"]["ok"]:
            # Often still starting next to Rasa, so a warning, not an error.
            logger.warning(
                "health: action server not ready (%s)", result["action_server"]["detail"]
            )
        return result

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        health = Blueprint("health_webhook", __name__)

        @health.listener("after_server_start")
        async def check_at_start(app: Any, _: Any) -> None:
            # After Rasa's before_server_start listener has loaded the agent.
            await self.startup_check(getattr(app.ctx, "agent", None))

        @health.route("/metrics", methods=["GET"])
        async def prometheus(request: Request) -> HTTPResponse:
            """Counts and timings for Prometheus (bot/server/metrics.py), API token only."""
            allowed, reason = metrics.authorised(
                request.args.get("token"), request.headers.get("Authorization")
            )
            if not allowed:
                return response.json({"error": reason}, status=403)
            body, content_type = metrics.exposition()
            return response.raw(body, content_type=content_type)

        @health.route("/", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            body = await report(
                getattr(request.app.ctx, "agent", None), self.failures, self.timeout
            )
            return response.json(body, status=200 if body["status"] == "ok" else 503)

        return health
