"""`make run` as a new user runs it: both servers come up, answer, and Ctrl-C stops both."""

from __future__ import annotations

import json
import socket
import urllib.request

import pexpect
import pytest

from bot.core.paths import PROJECT_ROOT
from harness.servers import make_target_env

pytestmark = pytest.mark.slow


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_answers_and_ctrl_c_stops_both_servers(tmp_path, store) -> None:
    env, action_port, rasa_port = make_target_env(tmp_path)
    run = pexpect.spawn(
        "make",
        ["--no-print-directory", "run"],
        cwd=str(PROJECT_ROOT),
        env=env,
        encoding="utf-8",
        timeout=180,
    )
    run.logfile_read = (tmp_path / "run.log").open("w")
    try:
        # The banner comes once Rasa answers, and says where a person can chat.
        run.expect("The spine procedure FAQ assistant is running.")
        run.expect("Ctrl-C stops both servers.")
        banner = run.before
        assert f"http://127.0.0.1:{rasa_port}/webhooks/webchat/" in banner
        assert f"POST http://127.0.0.1:{rasa_port}/webhooks/rest/webhook" in banner
        assert "clinic: your spine clinic (placeholder" in banner
        assert "conversations: SQLite" in banner
        assert port_open(rasa_port), (tmp_path / "run.log").read_text()[-3000:]
        request = urllib.request.Request(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            data=json.dumps({"sender": "make-run", "message": "does it hurt?"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read())
        assert store.fact("pain_during").answer in replies[0]["text"]
        assert port_open(action_port) and port_open(rasa_port)

        run.sendintr()  # Ctrl-C, as in a terminal: the whole foreground group gets it
        run.expect(pexpect.EOF, timeout=60)
    finally:
        run.close(force=True)
    assert not port_open(rasa_port), "Rasa still listening after Ctrl-C"
    assert not port_open(action_port), "action server still listening after Ctrl-C"
    output = (tmp_path / "run.log").read_text()
    # Dependencies' deprecation warnings are silenced; no traceback on a normal run.
    assert "DeprecationWarning" not in output and "Traceback" not in output, output[-3000:]
