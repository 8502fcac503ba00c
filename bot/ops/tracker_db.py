"""Where the conversations are: Rasa's SQL tracker store, as the staff commands reach it.

`purge` (bot/ops/retention.py) and `review` (bot/ops/review.py) read the same store Rasa
writes, SQLite by default or any server SQLAlchemy reaches (PostgreSQL), named either as
a SQLite file (--db) or by the `tracker_store` section of Rasa's endpoints.yml
(--endpoints). They read it without Rasa, so a staff command needs no model and no
running server. Ages are given the same way to both ("30d", "12h").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from bot.core.paths import PROJECT_ROOT

DEFAULT_ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
_AGE = re.compile(r"^\s*([0-9]+)\s*([dh])\s*$", re.IGNORECASE)
_UNITS = {"d": dt.timedelta(days=1), "h": dt.timedelta(hours=1)}
# Waiting this long for Rasa's write lock on SQLite beats failing a nightly job.
SQLITE_TIMEOUT_S = 30


class TrackerDbError(Exception):
    """A staff command cannot run; `exit_code` 2 for bad arguments, 1 for runtime failures."""

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


def sqlite_engine(path: Path) -> Any:
    """An engine on an existing SQLite tracker store (never creates a file)."""
    import sqlalchemy as sa

    if not path.is_file():
        raise TrackerDbError(f"{path}: no such database file", exit_code=2)
    return sa.create_engine(
        f"sqlite:///{path.resolve()}", connect_args={"timeout": SQLITE_TIMEOUT_S}
    )


_ENV_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _expand(value: str, environ: Mapping[str, str]) -> str:
    """`${VAR}` as Rasa expands it in endpoints.yml; unset variables are an error."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in environ:
            raise TrackerDbError(f"environment variable {name} (used in endpoints) is not set")
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
        raise TrackerDbError(f"{endpoints}: no such endpoints file", exit_code=2)
    try:
        document = yaml.load(endpoints.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        raise TrackerDbError(f"{endpoints}: not valid YAML ({error})", exit_code=2) from None
    section = (document or {}).get("tracker_store") if isinstance(document, dict) else None
    if not isinstance(section, dict) or section.get("type", "").lower() != "sql":
        kind = section.get("type") if isinstance(section, dict) else None
        raise TrackerDbError(
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
    host = str(config.get("url") or "")
    if "://" in host:
        # A whole URL in `url`, as deploy/endpoints.yml has (${DATABASE_URL}): Rasa's
        # SQLTrackerStore takes it as it is, and so does this.
        try:
            return sa.create_engine(host)
        except (ValueError, sa.exc.ArgumentError) as error:
            raise TrackerDbError(
                f"{endpoints}: bad tracker_store url ({error})", exit_code=2
            ) from None
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
        raise TrackerDbError(f"{endpoints}: bad tracker_store ({error})", exit_code=2) from None
    return sa.create_engine(url)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """--db FILE or --endpoints FILE (default: the project's endpoints.yml)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, help="a SQLite tracker store file")
    source.add_argument(
        "--endpoints",
        type=Path,
        help=f"read the tracker store from this endpoints file (default: {DEFAULT_ENDPOINTS.name})",
    )


def engine_for(args: argparse.Namespace) -> Any:
    """The engine `add_source_arguments`' options name."""
    if args.db:
        return sqlite_engine(args.db)
    return engine_from_endpoints(args.endpoints or DEFAULT_ENDPOINTS)
