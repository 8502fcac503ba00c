"""Keep dependencies' deprecation warnings out of the servers' output.

About forty lines of DeprecationWarnings from Rasa's dependencies (sanic-cors, SQLAlchemy,
pkg_resources, pyparsing, click...) used to bury the lines that matter at start-up. They
are not ours to fix. Setting PYTHONWARNINGS is not enough: Sanic's import runs
`filterwarnings("once", category=DeprecationWarning)`, which takes precedence. So the
launchers import Sanic first, then put their own filter on top. Set
`SHOW_DEPRECATION_WARNINGS=1` to see them again.
"""

from __future__ import annotations

import importlib
import os
import warnings
from typing import Sequence

# Modules that warn when first imported, after Rasa has put its own "once" filter for
# UserWarning in front (pyparsing's deprecation warnings are UserWarnings too): imported
# here first, under the filter, they have nothing left to say.
NOISY_IMPORTS = ("packaging.requirements", "matplotlib.fontconfig_pattern")


def silence_dependency_deprecations(preload: Sequence[str] = NOISY_IMPORTS) -> bool:
    """Ignore deprecation warnings from here on (True), unless asked to show them."""
    if os.environ.get("SHOW_DEPRECATION_WARNINGS") == "1":
        return False
    import sanic  # noqa: F401 - its import installs the filter this one must override

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - an optional dependency of Rasa's
            pass
    return True
