"""`make shell` driven like a person would: type a question, read, pick a button, quit."""

from __future__ import annotations

import re

import pexpect
import pytest

from bot.core.paths import PROJECT_ROOT
from harness.servers import make_target_env

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_rasa_shell_answers_a_typed_question(tmp_path, store) -> None:
    env, action_port, rasa_port = make_target_env(tmp_path)
    shell = pexpect.spawn(
        "make",
        ["--no-print-directory", "shell"],
        cwd=str(PROJECT_ROOT),
        env=env,
        encoding="utf-8",
        timeout=180,
        dimensions=(50, 200),
    )
    shell.logfile_read = (tmp_path / "shell.log").open("w")
    try:
        shell.expect("Your input ->")
        shell.sendline("does a facet injection hurt?")
        # The answer, its source on a line of its own, then numbered follow-ups; the
        # prompt is for typing straight away.
        shell.expect("Source:")
        shell.expect("Follow-up questions")
        shell.expect("Your input ->")
        answer = ANSI.sub("", shell.before)
        answer = ANSI.sub("", (tmp_path / "shell.log").read_text())
        assert store.fact("pain_during").answer[:40] in answer
        assert "Source:" in answer and "1. How long is the recovery?" in answer
        source_line = next(line for line in answer.splitlines() if "Source:" in line)
        assert source_line.rstrip().endswith(").")  # nothing printed on the end of it
        shell.sendline("1")  # one keystroke (and Enter) asks the first follow-up
        shell.expect("-> How long is the recovery")
        shell.expect("Sources?:")  # the whole topic: it may cite both articles
        shell.expect("Your input ->")
        follow_up = ANSI.sub("", (tmp_path / "shell.log").read_text())
        assert "-> How long is the recovery?" in follow_up
        assert store.fact("recovery_outpatient").answer[:40] in follow_up
        # Urgent advice is marked in the terminal, not left as a raw JSON dump.
        shell.sendline("my groin went numb after the block")
        shell.expect("URGENT: call 911")
        assert "911" in ANSI.sub("", shell.before) and "Custom json" not in shell.before
        shell.expect("Your input ->")
        # Ctrl-C at the prompt ends the shell cleanly: no traceback, no second Ctrl-C.
        shell.sendintr()
        shell.expect(pexpect.EOF, timeout=60)
        shell.close()
        log = (tmp_path / "shell.log").read_text()
        assert "Traceback" not in log and "AttributeError" not in log, log[-2000:]
    finally:
        shell.close(force=True)
