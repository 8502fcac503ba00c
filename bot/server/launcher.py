"""`rasa` with the project's speed-ups installed: same arguments, same behaviour.

    python -m bot.server.launcher run --model models/spine-faq.tar.gz ...
    python -m bot.server.launcher shell --model models/spine-faq.tar.gz ...

`make run` and `make shell` (scripts/serve.sh) and the test servers start Rasa this
way, so that bot/server/rasa_internals.py is in force in every Rasa process that answers
patients. Plain `rasa run` still works with this project, only slower per turn.
"""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    """Install the speed-ups, then hand over to Rasa's own command line."""
    from bot.channels import console
    from bot.server import logging_privacy, rasa_internals
    from bot.server.quiet_warnings import silence_dependency_deprecations

    silence_dependency_deprecations()
    # Patient text stays out of this process's logs whatever credentials.yml holds, and
    # again once Rasa has configured its logging.
    logging_privacy.install()
    rasa_internals.after_rasa_configures_logging(logging_privacy.install)
    for problem in rasa_internals.check():
        print(f"rasa internals: {problem}; see bot/server/rasa_internals.py", file=sys.stderr)

    arguments = sys.argv[1:] if argv is None else argv
    installed = rasa_internals.install()
    reading = rasa_internals.install_context_reading()
    if arguments[:1] == ["shell"]:
        installed += console.install()
    # Rasa configures logging only once its command runs; this one start-up line says
    # which fixes are active (it carries no patient data).
    print(f"rasa speed-ups: {'; '.join(installed) or 'none'}", file=sys.stderr, flush=True)
    print(f"rasa understanding: {'; '.join(reading) or 'none'}", file=sys.stderr, flush=True)

    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
