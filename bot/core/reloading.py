"""Re-read data files when they change on disk, keeping the last good version.

The fact store, the red-flag rules and the clinic settings are data a clinic edits while
the servers run. Each user of such data holds a `Reloading` and calls `get()` per
message: one `stat` per file when nothing changed. A broken edit is logged and the last
good version keeps serving, so patients keep getting known-good behaviour while it is
fixed; only a first load that fails raises.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Generic, Optional, Sequence, Tuple, Type, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
Stamp = Tuple[Tuple[int, int], ...]


class Reloading(Generic[T]):
    """Hands out `load()`'s result, calling it again when any of `paths` changed."""

    def __init__(
        self,
        load: Callable[[], T],
        paths: Sequence[Path],
        errors: Tuple[Type[Exception], ...],
        what: str,
    ) -> None:
        self._load = load
        self.paths = tuple(Path(path) for path in paths)
        self._errors = errors
        self._what = what
        self._lock = threading.Lock()
        self._value: Optional[T] = None
        self._stamp: Optional[Stamp] = None

    def _current_stamp(self) -> Stamp:
        stamps = []
        for path in self.paths:
            try:
                stat = path.stat()
                stamps.append((stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamps.append((-1, -1))
        return tuple(stamps)

    def get(self) -> T:
        """The current value; raises only when no good version was ever loaded."""
        stamp = self._current_stamp()
        with self._lock:
            if self._value is None or stamp != self._stamp:
                try:
                    self._value = self._load()
                except self._errors as error:
                    if self._value is None:
                        raise
                    logger.error(
                        "%s edit rejected, keeping the last good one: %s", self._what, error
                    )
                self._stamp = stamp
            return self._value
