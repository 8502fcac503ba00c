"""Patient message text never reaches the logs, in normal turns and on every error path.

A conversation carries a unique canary string through REST and the signed webhook, a
red-flag turn, a tracker store failure, an action server that errors and one that is
down. The canary must then be in the conversation store (it really went through) and
in neither server's log. Servers run as `make run` runs them: default log level.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.channels.signed_webhook import sign
from bot.core.paths import PROJECT_ROOT
from bot.server import logging_privacy
from harness.client import rest
from harness.servers import running_servers

# Fixed, not random: the canary is part of what NLU classifies, and a different string
# per run once sent a question to the fallback instead of the action under test. Each
# test starts its servers with fresh logs, so no earlier run's canary can be found.
CANARY = "CANARY-5d0c41e2a7f94b36"
WEBHOOK_SECRET = uuid.uuid4().hex


# --- unit tests of the scrubbing -------------------------------------------------------


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`install()` changes process-wide logging: undo it so later tests see stock logging."""
    import structlog

    factory = logging.getLogRecordFactory()
    access = logging.getLogger("sanic.access")
    filters = list(access.filters)
    processors = list(structlog.get_config()["processors"])
    yield
    logging.setLogRecordFactory(factory)
    access.filters[:] = filters
    structlog.configure(processors=processors)
    logging_privacy._installed_factory = None


def _sqlalchemy_error() -> sa.exc.StatementError:
    """The error Rasa gets when an INSERT of a patient's message fails."""
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            connection.execute(
                sa.text("INSERT INTO events (data) VALUES (:data)"),
                {"data": json.dumps({"text": f"my back hurts {CANARY}"})},
            )
    except sa.exc.StatementError as error:
        return error
    raise AssertionError("the INSERT should have failed")


def test_sqlalchemy_errors_quote_the_message_and_scrub_removes_it() -> None:
    error = _sqlalchemy_error()
    assert CANARY in str(error)  # the leak exists without the scrubber
    cleaned = logging_privacy.scrub(str(error))
    assert CANARY not in cleaned
    assert "no such table: events" in cleaned  # the useful part stays
    assert "[parameters: [redacted]]" in cleaned


def test_action_server_response_body_is_scrubbed() -> None:
    message = f"""500, Internal Server Error, body='{{"request_body": "{CANARY}"}}'"""
    assert logging_privacy.scrub(message) == "500, Internal Server Error, body='[redacted]'"


def test_installed_factory_scrubs_messages_and_tracebacks(caplog) -> None:
    logging_privacy.install()
    logger = logging.getLogger("tests.privacy")
    error = _sqlalchemy_error()
    with caplog.at_level(logging.INFO, logger="tests.privacy"):
        logger.error("could not save: %s", error)
        try:
            raise error
        except sa.exc.StatementError:
            logger.exception("save failed")
    formatter = logging.Formatter("%(message)s")
    rendered = "\n".join(formatter.format(record) for record in caplog.records)
    assert "could not save" in rendered and "Traceback" in rendered
    assert CANARY not in rendered


def test_install_is_idempotent() -> None:
    logging_privacy.install()
    factory = logging.getLogRecordFactory()
    logging_privacy.install()
    assert logging.getLogRecordFactory() is factory


def test_structlog_fields_with_text_are_redacted() -> None:
    event = {"event": "rest.message.received.failure", "text": CANARY, "sender_id": "s"}
    result = logging_privacy.redact_structlog_fields(None, "error", event)
    assert result == {
        "event": "rest.message.received.failure",
        "text": "[redacted]",
        "sender_id": "s",
    }


def test_structlog_exceptions_are_rendered_scrubbed() -> None:
    try:
        raise _sqlalchemy_error()
    except sa.exc.StatementError as error:
        result = logging_privacy.redact_structlog_fields(None, "error", {"exc_info": error})
    assert "exc_info" not in result
    assert "Traceback" in result["exception"] and CANARY not in result["exception"]


# --- the real servers -------------------------------------------------------------------


def _post_webhook(url: str, sender: str, text: str) -> int:
    body = json.dumps({"message_id": uuid.uuid4().hex, "sender": sender, "text": text}).encode()
    request = urllib.request.Request(
        url + "/webhooks/signed_webhook/webhook",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Signature-SHA256": sign(WEBHOOK_SECRET, body),
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def _post_raw(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _stop_actions(servers) -> None:
    """Stop only the action server; Rasa keeps running."""
    servers.stop_process("actions")


@pytest.mark.slow
def test_no_patient_text_in_any_log(tmp_path: Path) -> None:
    env = {
        "LOG_LEVEL": "INFO",  # Rasa's default, stated so a developer's DEBUG does not leak in
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_DB": str(tmp_path / "webhook.sqlite3"),
        "CLINIC_CONFIG": "",
    }
    sender = f"privacy-{uuid.uuid4().hex[:8]}"
    with running_servers(tmp_path, env) as servers:
        # Normal turns: a question, a follow-up, a red flag, the signed webhook.
        assert (
            "Source:" in rest(servers, sender, f"does a facet injection hurt? {CANARY}")[0]["text"]
        )
        rest(servers, sender, f"how long does it last {CANARY}")
        red_flag = rest(servers, sender, f"I lost control of my bladder {CANARY}")
        assert "911" in red_flag[0]["text"]
        assert _post_webhook(servers.url, sender, f"what is an mbb {CANARY}") == 200
        # Malformed JSON quoting the canary.
        assert _post_raw(servers.url, f'{{"sender": "x", "message": "{CANARY}'.encode()) >= 400

        # Tracker store failure: reads work, writes fail (as on a full disk or a read-only
        # file), so SQLAlchemy's error quotes the INSERT's values: the text among them.
        with sqlite3.connect(servers.tracker_db) as db:
            db.execute(
                "CREATE TRIGGER refuse_writes BEFORE INSERT ON events"
                " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        try:
            rest(servers, f"{sender}-store", f"does rfa hurt {CANARY}")
        finally:
            with sqlite3.connect(servers.tracker_db) as db:
                db.execute("DROP TRIGGER refuse_writes")

        # The action server errors (broken clinic settings file), then is down.
        # A good settings file at start-up (a broken one would stop the action server
        # from starting), broken before the first turn reads it: no good version to keep.
        clinic = tmp_path / "clinic.yml"
        clinic.write_text("name: Privacy Clinic\n")
        _stop_actions(servers)
        # A restarted action server writes a new actions.log: keep the first one.
        actions_log = servers.logs["actions"].read_text()
        servers.start_actions(env={"CLINIC_CONFIG": str(clinic)})
        clinic.write_text("name: [unclosed\n")
        # A red flag, so the action (it needs the clinic's phone number, hence the broken
        # settings) is chosen by the deterministic rules: a question can go to the
        # rephrase fallback, which needs no settings, because the random canary makes
        # its text score differently on every run (seen once in CI).
        rest(servers, sender, f"I lost control of my bladder {CANARY}")
        _stop_actions(servers)
        actions_log += servers.logs["actions"].read_text()
        rest(servers, sender, f"I have a fever and my back is red {CANARY}")

        rasa_log = servers.logs["rasa"].read_text()

    # Every failure above really happened and was logged...
    assert "TRACKER STORE FAILURE" in rasa_log
    assert "Failed to execute custom action" in rasa_log
    assert "Couldn't connect to the server" in rasa_log
    assert "SettingsError while running action" in actions_log
    # ...the canary really went through the assistant...
    with sqlite3.connect(servers.tracker_db) as db:
        stored = db.execute(
            "SELECT COUNT(*) FROM events WHERE type_name = 'user' AND data LIKE ?",
            (f"%{CANARY}%",),
        ).fetchone()[0]
    assert stored >= 5
    # ...and no log line quotes it.
    assert CANARY not in rasa_log
    assert CANARY not in actions_log


@pytest.mark.slow
def test_no_patient_text_in_the_log_without_the_health_channel(tmp_path: Path) -> None:
    """Log scrubbing is the launcher's job, not a side effect of a channel being listed."""
    listed = (PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8")
    without_health = "\n".join(
        line for line in listed.splitlines() if not line.startswith("bot.server.health.")
    )
    assert without_health != listed
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(without_health + "\n")
    env = {"LOG_LEVEL": "INFO", "CLINIC_CONFIG": ""}
    with running_servers(tmp_path, env, credentials=credentials) as servers:
        with sqlite3.connect(servers.tracker_db) as db:
            db.execute(
                "CREATE TRIGGER refuse_writes BEFORE INSERT ON events"
                " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        rest(servers, "no-health", f"does rfa hurt {CANARY}")
        rasa_log = servers.logs["rasa"].read_text()
    # Rasa's own fail-safe store logged the failed INSERT (the health channel is absent)...
    assert "Error happened when trying to save conversation tracker" in rasa_log
    assert "[parameters: [redacted]]" in rasa_log
    # ...without the text it was saving.
    assert CANARY not in rasa_log


def test_api_tokens_in_urls_are_scrubbed() -> None:
    line = "GET http://127.0.0.1:5005/conversations/a/tracker?token=s3cr3t&include_events=ALL"
    assert logging_privacy.scrub(line) == (
        "GET http://127.0.0.1:5005/conversations/a/tracker?token=[redacted]&include_events=ALL"
    )
    logging_privacy.install()
    access = logging.getLogger("sanic.access")
    record = access.makeRecord(
        "sanic.access", logging.INFO, "", 0, "", None, None, extra={"request": line}
    )
    assert access.filter(record)  # what Logger.handle does before any handler
    assert record.request.endswith("?token=[redacted]&include_events=ALL")
