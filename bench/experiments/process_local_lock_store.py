"""Measurement only: lets `rasa run` start several Sanic workers. Never deploy it.

Rasa refuses SANIC_WORKERS > 1 with its in-memory lock store, because each worker
process would hold its own locks and two messages of one conversation could then be
handled at once by two workers. This class is that in-memory store under another
name, which is enough for Rasa to allow the workers. The benchmark's conversations
never send a message before the previous answer arrived, so the missing cross-process
lock cannot change its results; a real deployment needs a shared lock store (Redis, or
one built on the database), which this project does not have
(docs/benchmarks.md, "Tuning log": `scripts/bench.py --rasa-workers 2`).
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.core.lock_store import InMemoryLockStore


class ProcessLocalLockStore(InMemoryLockStore):
    """InMemoryLockStore that Rasa's worker check accepts (see the module docstring)."""

    def __init__(self, endpoint_config: Optional[Any] = None) -> None:
        super().__init__()
