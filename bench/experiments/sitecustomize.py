"""Measurement-only patches of Rasa 3.6 internals, to price what they cost per turn.

Not used by the assistant. The benchmark puts this directory on PYTHONPATH of the
servers it starts (`scripts/bench.py --rasa-env PYTHONPATH=bench/experiments
--rasa-env BENCH_RASA_PATCHES=validation,session,events`); Python imports
`sitecustomize` at start-up, and the patches are applied when Rasa's modules load.

- validation: Rasa validates every action-server response with `jsonschema.validate`,
  which re-checks the (large) schema against the JSON Schema 2020-12 metaschema on
  every call. The patch builds the validator once; the same schema is enforced.
  Since adopted: the code is bot/server/rasa_internals.py's, which `python -m bot.server.launcher`
  installs for the assistant; here it can be priced alone on a plain `rasa run`.
- session: Rasa opens a new aiohttp session, so a new TCP connection, for every call to
  the action server. The patch keeps one session per event loop (keep-alive).
- events: loading a tracker resolves each stored event's class by walking all Event
  subclasses recursively, per event. The patch remembers the name-to-class mapping
  (also adopted, from bot/server/rasa_internals.py).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from typing import Any, Callable, Dict

PATCHES = {p.strip() for p in os.environ.get("BENCH_RASA_PATCHES", "").split(",") if p.strip()}


def _patch_validation(module: Any) -> None:
    from bot.server.rasa_internals import _cached_validation

    action = module.RemoteAction
    action._validate_action_result = _cached_validation(action._validate_action_result)


def _patch_session(module: Any) -> None:
    import asyncio

    import aiohttp

    sessions: Dict[int, aiohttp.ClientSession] = {}

    class _Shared:
        def __init__(self, endpoint: Any) -> None:
            self.endpoint = endpoint

        async def __aenter__(self) -> aiohttp.ClientSession:
            loop = id(asyncio.get_running_loop())
            session = sessions.get(loop)
            if session is None or session.closed:
                session = sessions[loop] = self.endpoint._original_session()
            return session

        async def __aexit__(self, *exc: Any) -> None:
            return None

    module.EndpointConfig._original_session = module.EndpointConfig.session
    module.EndpointConfig.session = lambda self: _Shared(self)


def _patch_events(module: Any) -> None:
    from bot.server.rasa_internals import _cached_event_lookup

    module.Event.resolve_by_type = staticmethod(_cached_event_lookup(module.Event.resolve_by_type))


_TARGETS: Dict[str, Callable[[Any], None]] = {}
if "validation" in PATCHES:
    _TARGETS["rasa.core.actions.action"] = _patch_validation
if "session" in PATCHES:
    _TARGETS["rasa.utils.endpoints"] = _patch_session
if "events" in PATCHES:
    _TARGETS["rasa.shared.core.events"] = _patch_events


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Runs a patch right after its target module has been executed."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in _TARGETS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader, patch = spec.loader, _TARGETS.pop(name)
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _TARGETS:
    sys.meta_path.insert(0, _PatchAfterImport())
