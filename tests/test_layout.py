"""The tree shows the architecture, and this keeps it true.

`bot/core/` runs without Rasa: it imports neither Rasa nor Sanic, nor the parts of `bot/`
that plug into them. Nothing the product or the benchmark runs imports `tests/`. The
README's layout names every module, and every path it names exists.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

from bot.core.paths import PROJECT_ROOT

SERVING = ("rasa", "rasa_sdk", "sanic", "sanic_cors", "socketio", "engineio")
OUTER_LAYERS = ("bot.nlu", "bot.server", "bot.channels", "bot.ops", "actions", "harness")


def imports(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, module) of every import in a file, wherever it stands (functions too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def offending(folder: str, banned: Tuple[str, ...]) -> List[str]:
    found = []
    for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
        for line, module in imports(path):
            if any(module == name or module.startswith(name + ".") for name in banned):
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{line} imports {module}")
    return found


def test_core_imports_no_serving_library() -> None:
    assert offending("bot/core", SERVING) == []


def test_core_imports_none_of_the_layers_above_it() -> None:
    assert offending("bot/core", OUTER_LAYERS) == []


def test_importing_all_of_core_loads_no_rasa_or_sanic() -> None:
    modules = sorted(
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (PROJECT_ROOT / "bot" / "core").rglob("*.py")
    )
    probe = (
        f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SERVING!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_nothing_outside_the_tests_imports_them() -> None:
    for folder in ("bot", "actions", "harness", "bench", "scripts"):
        assert offending(folder, ("tests",)) == [], folder


def readme_layout() -> List[str]:
    """The paths the README's layout block names, folders ending in '/'."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named, parents = [], []  # parents: (indent, folder)
    for raw in block.splitlines():
        token = raw.strip().split("  ", 1)[0].split(" ", 1)[0]
        # A file or a folder; not a list ("a.yml, b.yml") or a description's next line.
        if not re.match(r"^[\w-]+(/|\.\w+|/[\w./-]+)$", token):
            continue
        indent = len(raw) - len(raw.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = "".join(folder for _, folder in parents) + token
        named.append(path)
        if token.endswith("/"):
            parents.append((indent, token))
    return named


def test_every_path_the_readme_layout_names_exists() -> None:
    named = readme_layout()
    assert len(named) > 40
    missing = [path for path in named if not (PROJECT_ROOT / path).exists()]
    assert missing == []


def test_the_readme_layout_names_every_module_of_bot() -> None:
    named = set(readme_layout())
    modules = {
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "bot").rglob("*.py")
        if path.name != "__init__.py"
    }
    assert sorted(modules - named) == []
