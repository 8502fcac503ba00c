"""Shared fixtures: the real fact store, settings, and real Rasa SDK objects."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker

from bot.core.facts import FactStore, load_fact_store
from bot.core.paths import PROJECT_ROOT
from bot.core.settings import ClinicSettings

SEEDS_DIR = PROJECT_ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def store() -> FactStore:
    return load_fact_store()


@pytest.fixture
def settings() -> ClinicSettings:
    return ClinicSettings(name="Test Spine Clinic", phone="555-0100", email="care@example.org")


@pytest.fixture(scope="session")
def encoder():
    """The project's sentence encoder (built by `make encoder`)."""
    from bot.core.paths import ENCODER_DIR
    from bot.nlu.encoder import SentenceEncoder

    if not (ENCODER_DIR / "model.onnx").is_file():
        pytest.fail(f"no encoder in {ENCODER_DIR}: run `make encoder`")
    return SentenceEncoder()


@pytest.fixture(scope="session")
def nlp(store):
    """The project's spaCy pipeline, built from the fact store (aliases, descriptions)."""
    from bot.nlu.spacy_pipeline import build_pipeline

    return build_pipeline(store)


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def make_tracker(
    text: str,
    intent: Optional[str],
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    intent_ranking: Optional[List[Dict[str, Any]]] = None,
    red_flag: Optional[Dict[str, Any]] = None,
    question: Optional[str] = None,
) -> Tracker:
    """A real SDK Tracker whose latest message is `text`, as Rasa would send it.

    `red_flag` is the summary bot.nlu.components.RedFlagOverride adds to every message;
    `question` the question of a long message (bot.nlu.components.QuestionFocus).
    """
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9} if intent else {},
        "entities": entities or [],
        "intent_ranking": intent_ranking or [],
    }
    if red_flag is not None:
        latest["red_flag"] = red_flag
    if question is not None:
        latest["question_text"] = question
    return Tracker(
        sender_id="test-patient",
        slots={"procedure": None, **(slots or {})},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def procedure_entity(value: str) -> Dict[str, Any]:
    return {"entity": "procedure", "value": value, "extractor": "ProcedureEntityExtractor"}


def article_texts() -> Dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in SEEDS_DIR.glob("*.txt")}


@pytest.fixture(scope="session")
def articles() -> Dict[str, str]:
    texts = article_texts()
    if not texts:
        pytest.fail(f"source articles not found in {SEEDS_DIR}")
    return texts


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# Fixtures that start real servers or a browser: a test using one is `slow` (left out of
# `make test-fast`) whether or not its module says so, so the marker matches reality.
PROCESS_FIXTURES = {
    "servers",
    "restartable_servers",
    "default_servers",
    "api_server",
    "action_server",
    "browser",
    "cluster",
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


_SESSION_START = {"time": 0.0}


def pytest_sessionstart(session) -> None:
    import time

    _SESSION_START["time"] = time.time()


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """The shared server pair (harness.shared) for end-to-end tests that only talk to it,
    each as a fresh patient; a module that stops or reconfigures servers defines its own."""
    from harness.shared import shared_servers

    with shared_servers(tmp_path_factory.mktemp("shared-servers")) as running:
        yield running


@pytest.fixture(scope="session")
def _restartable_pair(tmp_path_factory):
    from harness.shared import restartable_servers

    with restartable_servers(tmp_path_factory.mktemp("restartable-servers")) as running:
        yield running


@pytest.fixture
def restartable_servers(_restartable_pair):
    """The pair a test may stop, restart or misconfigure; restored after the test."""
    yield _restartable_pair
    _restartable_pair.restore()


def require_service(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


def require_nginx() -> str:
    """Debian's nginx, as `make cluster` finds it (bot.server.cluster.nginx_binary)."""
    from bot.server.cluster import ClusterError, nginx_binary

    try:
        return nginx_binary()
    except ClusterError as error:
        require_service(False, str(error))
        raise


def require_redis(url: str = "redis://127.0.0.1:6379/0") -> str:
    """`url` when the machine's Redis answers (skip, or fail under CI, when not)."""
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        require_service(False, f"no Redis on 127.0.0.1:6379 (start it): {error}")
    return url


def _require_postgres() -> None:
    import sqlalchemy as sa

    from harness import postgres

    try:
        postgres.ping()
    except sa.exc.OperationalError as error:
        require_service(False, f"no PostgreSQL on 127.0.0.1:5432 (start it): {error}")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """Two replicas behind nginx (harness/cluster.py), for tests/test_cluster.py and the
    widget's browser test; tests that take a service down bring it back."""
    from harness.cluster import running_cluster

    require_service(shutil.which("redis-server") is not None, "redis-server is not installed")
    require_nginx()
    _require_postgres()
    with running_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
def postgres_database(tmp_path):
    """A fresh database with Rasa's events table on the local PostgreSQL, and an
    endpoints.yml naming it as Rasa's SQL tracker store; dropped afterwards. Skipped
    when PostgreSQL is not running, except under CI, where that fails the run."""
    import uuid

    import sqlalchemy as sa

    from harness import postgres

    _require_postgres()
    name = "test_" + uuid.uuid4().hex[:12]
    postgres.create_database(name)
    engine = sa.create_engine(postgres.database_url(name))
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255),"
                    " type_name VARCHAR(255), timestamp FLOAT, intent_name VARCHAR(255),"
                    " action_name VARCHAR(255), data TEXT)"
                )
            )
        endpoints = tmp_path / "endpoints.yml"
        endpoints.write_text(
            "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n"
            f"  port: {postgres.PORT}\n  db: {name}\n  username: postgres\n"
        )
        yield engine, endpoints
    finally:
        engine.dispose()
        postgres.drop_database(name)


def _fresh_report(name: str):
    """The JSON report `reports/<name>` if this run wrote it, else None."""
    import json

    report = PROJECT_ROOT / "reports" / name
    if report.exists() and report.stat().st_mtime >= _SESSION_START["time"]:
        return json.loads(report.read_text())
    return None


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the measured scores of this run: held-out NLU, blind sets, red flags."""
    data = _fresh_report("heldout.json")
    if data:
        terminalreporter.write_sep("-", "held-out NLU")
        terminalreporter.write_line(
            f"{data['examples']} examples, {data['intents']} intents: accuracy "
            f"{data['accuracy']:.3f}, macro-F1 {data['macro_f1']:.3f}, "
            f"{data['sent_to_fallback']} sent to fallback (reports/heldout.json)"
        )
    conversations = _fresh_report("conversations.json")
    for name, section in (conversations or {}).items():
        terminalreporter.write_sep("-", f"{name} conversation set, through REST")
        for kind, row in section["scores"].items():
            terminalreporter.write_line(
                f"{kind:16} {row['passed']:>4}/{row['total']:<4} {100 * row['share']:5.1f} %"
            )
    flags = _fresh_report("red_flags.json")
    if flags:
        terminalreporter.write_sep("-", "red flags (tests/red_flags*.yml)")
        for name, row in flags.items():
            terminalreporter.write_line(
                f"{name:22} recall {row['present'] - len(row['missed'])}/{row['present']}; "
                f"no alarm on mentions {row['mentions'] - row['false_alarms']}/"
                f"{row['mentions']} ({100 * row['no_alarm_rate']:.1f} %); false alarms by "
                f"kind {row['false_alarms_by_kind']}"
            )
