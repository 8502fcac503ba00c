"""`make shell` driven like a person would: type a question, read, pick a button, quit."""

from __future__ import annotations

import re

import pexpect
import pytest

from bot.paths import PROJECT_ROOT
from tests.servers import make_target_env

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
        # The answer comes with its buttons as a menu, ending in a free-text choice.
        shell.expect("Type out your own message")
        answer = ANSI.sub("", shell.before)
        assert store.fact("pain_during").answer[:40] in answer
        assert "Source:" in answer
        shell.send("\r")  # Enter picks the first follow-up question
        shell.expect("Type out your own message")
        follow_up = ANSI.sub("", shell.before)
        assert store.fact("recovery_outpatient").answer[:40] in follow_up
        # Pick "Type out your own message..." (last choice) and stop the shell.
        shell.send("\x1b[A")  # arrow up wraps to the last choice
        shell.send("\r")
        shell.expect("Your input ->")
        # Urgent advice is marked in the terminal, not left as a raw JSON dump.
        shell.sendline("my groin went numb after the block")
        shell.expect("URGENT: call 911")
        assert "911" in ANSI.sub("", shell.before) and "Custom json" not in shell.before
        shell.expect("Your input ->")
        shell.sendline("/stop")
        shell.expect(pexpect.EOF, timeout=60)
        shell.close()
        assert shell.exitstatus == 0, (tmp_path / "shell.log").read_text()[-2000:]
    finally:
        shell.close(force=True)
