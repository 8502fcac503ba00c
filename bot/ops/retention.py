"""Retention: delete conversations nobody has touched for a given time.

Patient conversations are health information; a clinic keeps them only as long as
its policy says. Rasa never deletes anything from its tracker store, so:

    python -m bot purge --older-than 30d [--db var/conversations.sqlite3 | --endpoints FILE]
                        [--webhook-db var/webhook.sqlite3 | --webhook-db postgresql://...]
                        [--dry-run]

deletes every event of each conversation (sender) whose *latest* event is older than
the age: a conversation still in use keeps its whole history, an abandoned one goes
entirely. It works on Rasa's SQL tracker store (`events` table: sender_id, timestamp
in Unix seconds, ...), SQLite or any server SQLAlchemy reaches. With --webhook-db it
also deletes the signed webhook's delivery records (sender, digest of the text, our
reply) older than the age, in its SQLite file or, for replicas, its PostgreSQL database;
only when asked, since WEBHOOK_DB is configured separately.

Only counts are printed, never sender ids or text. Run it daily (cron, systemd timer);
it is safe while Rasa runs (one transaction; SQLite waits for Rasa's write lock).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

from bot.ops.tracker_db import (
    TrackerDbError,
    add_source_arguments,
    engine_for,
    parse_age,
    sqlite_engine,
)

# The purge's errors are the tracker store's (bad arguments: exit code 2).
RetentionError = TrackerDbError

# Keeps each DELETE's IN (...) list well under database parameter limits.
BATCH = 500


@dataclass(frozen=True)
class PurgeResult:
    """What was (or, in a dry run, would be) deleted."""

    conversations: int
    events: int
    kept_conversations: int


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


def purge_deliveries(location: Union[Path, str], cutoff: float, dry_run: bool = False) -> int:
    """Delete the signed webhook's delivery records created before `cutoff`.

    `location` is WEBHOOK_DB as the channel takes it: a SQLite file, or a database URL
    (`postgresql://...`) when replicas share their claims.
    """
    import sqlalchemy as sa

    if isinstance(location, str) and "://" in location:
        engine = sa.create_engine(location)
        shown = sa.engine.make_url(location).render_as_string(hide_password=True)
    else:
        engine = sqlite_engine(Path(location))  # "no such database file" when missing
        shown = str(location)
    query = "FROM deliveries WHERE created_at < :cutoff"
    try:
        if not sa.inspect(engine).has_table("deliveries"):
            return 0
        with engine.begin() as connection:
            if dry_run:
                return connection.execute(
                    sa.text("SELECT COUNT(*) " + query), {"cutoff": cutoff}
                ).scalar()
            return connection.execute(sa.text("DELETE " + query), {"cutoff": cutoff}).rowcount
    except sa.exc.SQLAlchemyError as error:
        raise RetentionError(f"{shown}: {type(error).__name__}") from None
    finally:
        engine.dispose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=parse_age,
        required=True,
        metavar="AGE",
        help="delete conversations whose last message is older than this: 30d, 12h",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--webhook-db",
        default=None,
        help="also delete the signed webhook's delivery records older than the age: its"
        " WEBHOOK_DB, a SQLite file (by default var/webhook.sqlite3) or a database URL",
    )
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")


def run(args: argparse.Namespace, now: Optional[float] = None) -> int:
    """The `purge` command; returns the exit code and prints counts only."""
    now = time.time() if now is None else now
    cutoff = now - args.older_than.total_seconds()
    since = dt.datetime.fromtimestamp(cutoff, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    verb = "would delete" if args.dry_run else "deleted"
    try:
        engine = engine_for(args)
        result = purge_events(engine, cutoff, args.dry_run)
        print(
            f"{verb} {result.conversations} conversation(s), {result.events} event(s),"
            f" last active before {since}; {result.kept_conversations} kept"
        )
        if args.webhook_db is not None:
            location = args.webhook_db if "://" in args.webhook_db else Path(args.webhook_db)
            deliveries = purge_deliveries(location, cutoff, args.dry_run)
            print(f"{verb} {deliveries} signed webhook delivery record(s) from before {since}")
    except RetentionError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot purge", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
