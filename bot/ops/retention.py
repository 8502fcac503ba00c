"""Retention: delete conversations nobody has touched for a given time.

Patient conversations are health information; a clinic keeps them only as long as
its policy says. Rasa never deletes anything from its tracker store, so:

    python -m bot purge --older-than 30d [--db var/conversations.sqlite3 | --endpoints FILE]
                        [--webhook-db var/webhook.sqlite3] [--dry-run]

deletes every event of each conversation (sender) whose *latest* event is older than
the age: a conversation still in use keeps its whole history, an abandoned one goes
entirely. It works on Rasa's SQL tracker store (`events` table: sender_id, timestamp
in Unix seconds, ...), SQLite or any server SQLAlchemy reaches. With --webhook-db it
also deletes the signed webhook's delivery records (sender, digest of the text, our
reply) older than the age; only when asked, since that file is configured separately.

Only counts are printed, never sender ids or text. Run it daily (cron, systemd timer);
it is safe while Rasa runs (one transaction; SQLite waits for Rasa's write lock).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from bot.core.paths import PROJECT_ROOT

DEFAULT_ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
_AGE = re.compile(r"^\s*([0-9]+)\s*([dh])\s*$", re.IGNORECASE)
_UNITS = {"d": dt.timedelta(days=1), "h": dt.timedelta(hours=1)}
# Keeps each DELETE's IN (...) list well under database parameter limits.
BATCH = 500
# Waiting this long for Rasa's write lock on SQLite beats failing the nightly purge.
SQLITE_TIMEOUT_S = 30


class RetentionError(Exception):
    """The purge cannot run; `exit_code` 2 for bad arguments, 1 for runtime failures."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_age(text: str) -> dt.timedelta:
    """'30d' or '12h' -> timedelta; argparse turns the error into exit code 2."""
    match = _AGE.match(text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age like 30d (days) or 12h (hours)")
    amount = int(match.group(1))
    if amount <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the age must be at least 1 (0 would delete every conversation)"
        )
    return amount * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class PurgeResult:
    """What was (or, in a dry run, would be) deleted."""

    conversations: int
    events: int
    kept_conversations: int


def sqlite_engine(path: Path) -> Any:
    """An engine on an existing SQLite tracker store (never creates a file)."""
    import sqlalchemy as sa

    if not path.is_file():
        raise RetentionError(f"{path}: no such database file", exit_code=2)
    return sa.create_engine(
        f"sqlite:///{path.resolve()}", connect_args={"timeout": SQLITE_TIMEOUT_S}
    )


_ENV_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _expand(value: str, environ: Mapping[str, str]) -> str:
    """`${VAR}` as Rasa expands it in endpoints.yml; unset variables are an error."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in environ:
            raise RetentionError(f"environment variable {name} (used in endpoints) is not set")
        return environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def tracker_store_config(
    endpoints: Path, environ: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """The `tracker_store` section of an endpoints file, variables expanded.

    Read without Rasa (whose reader expands every ${VAR} in the file, so the action
    server's token would have to be set just to purge) and with YAML's base loader,
    which leaves `${...}` alone even when Rasa's loader hooks are active.
    """
    environ = os.environ if environ is None else environ
    if not endpoints.is_file():
        raise RetentionError(f"{endpoints}: no such endpoints file", exit_code=2)
    try:
        document = yaml.load(endpoints.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        raise RetentionError(f"{endpoints}: not valid YAML ({error})", exit_code=2) from None
    section = (document or {}).get("tracker_store") if isinstance(document, dict) else None
    if not isinstance(section, dict) or section.get("type", "").lower() != "sql":
        kind = section.get("type") if isinstance(section, dict) else None
        raise RetentionError(
            f"{endpoints}: tracker_store type is {kind!r}; purge supports the SQL tracker"
            " store only",
            exit_code=2,
        )
    return {
        key: _expand(value, environ) for key, value in section.items() if isinstance(value, str)
    }


def engine_from_endpoints(endpoints: Path, environ: Optional[Mapping[str, str]] = None) -> Any:
    """An engine on the SQL tracker store configured in Rasa's endpoints.yml.

    The same keys as Rasa's SQLTrackerStore (dialect, url, port, db, username,
    password, query). A relative SQLite path is taken from the endpoints file's
    directory, where scripts/serve.sh starts Rasa.
    """
    import sqlalchemy as sa

    config = tracker_store_config(endpoints, environ)
    dialect = config.get("dialect", "sqlite")
    db = config.get("db", "rasa.db")
    if dialect == "sqlite":
        path = Path(db)
        return sqlite_engine(path if path.is_absolute() else endpoints.parent / path)
    port = config.get("port")
    try:
        url = sa.engine.URL.create(
            drivername=dialect,
            username=config.get("username") or None,
            password=config.get("password") or None,
            host=config.get("url") or None,
            port=int(port) if port else None,
            database=db,
        )
    except ValueError as error:
        raise RetentionError(f"{endpoints}: bad tracker_store ({error})", exit_code=2) from None
    return sa.create_engine(url)


def _stale_senders(connection: Any, cutoff: float) -> List[str]:
    import sqlalchemy as sa

    rows = connection.execute(
        sa.text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"),
        {"cutoff": cutoff},
    )
    return [row[0] for row in rows]


def purge_events(engine: Any, cutoff: float, dry_run: bool = False) -> PurgeResult:
    """Delete all events of senders whose latest event is before `cutoff` (Unix time)."""
    import sqlalchemy as sa

    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table("events"):
                raise RetentionError("no 'events' table: this is not a Rasa SQL tracker store")
            senders = _stale_senders(connection, cutoff)
            total = connection.execute(
                sa.text("SELECT COUNT(DISTINCT sender_id) FROM events")
            ).scalar_one()
            events = 0
            for start in range(0, len(senders), BATCH):
                batch = senders[start : start + BATCH]
                statement = (
                    sa.text(
                        ("SELECT COUNT(*)" if dry_run else "DELETE")
                        + " FROM events WHERE sender_id IN :senders"
                    )
                ).bindparams(sa.bindparam("senders", expanding=True))
                result = connection.execute(statement, {"senders": batch})
                events += result.scalar_one() if dry_run else result.rowcount
    except sa.exc.SQLAlchemyError as error:
        # The type only: SQLAlchemy's message can carry the statement's parameters.
        raise RetentionError(f"tracker store error: {type(error).__name__}") from None
    finally:
        engine.dispose()
    return PurgeResult(len(senders), events, total - len(senders))


def purge_deliveries(path: Path, cutoff: float, dry_run: bool = False) -> int:
    """Delete the signed webhook's delivery records created before `cutoff`."""
    connection = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S)
    try:
        with connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if "deliveries" not in tables:
                return 0
            query = "FROM deliveries WHERE created_at < ?"
            if dry_run:
                return connection.execute("SELECT COUNT(*) " + query, (cutoff,)).fetchone()[0]
            return connection.execute("DELETE " + query, (cutoff,)).rowcount
    except sqlite3.Error as error:
        raise RetentionError(f"{path}: {type(error).__name__}") from None
    finally:
        connection.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=parse_age,
        required=True,
        metavar="AGE",
        help="delete conversations whose last message is older than this: 30d, 12h",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, help="a SQLite tracker store file")
    source.add_argument(
        "--endpoints",
        type=Path,
        help=f"read the tracker store from this endpoints file (default: {DEFAULT_ENDPOINTS.name})",
    )
    parser.add_argument(
        "--webhook-db",
        type=Path,
        default=None,
        help="also delete the signed webhook's delivery records (WEBHOOK_DB, by default"
        " var/webhook.sqlite3) older than the age",
    )
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")


def run(args: argparse.Namespace, now: Optional[float] = None) -> int:
    """The `purge` command; returns the exit code and prints counts only."""
    now = time.time() if now is None else now
    cutoff = now - args.older_than.total_seconds()
    since = dt.datetime.fromtimestamp(cutoff, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    verb = "would delete" if args.dry_run else "deleted"
    try:
        engine = (
            sqlite_engine(args.db)
            if args.db
            else engine_from_endpoints(args.endpoints or DEFAULT_ENDPOINTS)
        )
        result = purge_events(engine, cutoff, args.dry_run)
        print(
            f"{verb} {result.conversations} conversation(s), {result.events} event(s),"
            f" last active before {since}; {result.kept_conversations} kept"
        )
        if args.webhook_db is not None:
            if not args.webhook_db.is_file():
                raise RetentionError(f"{args.webhook_db}: no such database file", exit_code=2)
            deliveries = purge_deliveries(args.webhook_db, cutoff, args.dry_run)
            print(f"{verb} {deliveries} signed webhook delivery record(s) from before {since}")
    except RetentionError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot purge", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
