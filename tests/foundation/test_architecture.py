"""The house rules, read from the code's own imports (docs/architecture.md, "Floors").

A module imports only from its own floor or lower ones; the imports between modules form no
circle; a project import never hides inside a function, behind `TYPE_CHECKING`, or in a
string given to `importlib`; adapters never import the store; and only the platform
adapters and `bot.serve` (which runs them) import a chat SDK.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "intents", "journeys", "store", "notifications")

# Lowest first. A module belongs to the floor of the longest prefix that names it.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("bot.base",)),
    ("content and store", ("store", "intents", "journeys")),
    ("operations", ("bot",)),
    ("notices and reports", ("notifications", "bot.insight")),
    ("chat", ("bot.chat",)),
    ("adapters", ("bot.adapters",)),
    ("composition root", ("bot.app", "bot.processes", "bot.serve", "bot.ops")),
    ("command line", ("bot.cli", "bot.__main__")),
)
# Floors whose packages stand side by side and never import each other.
SIDE_BY_SIDE = {"content and store"}
# Who may import a chat SDK: the platform adapters and what runs them.
SDK_ALLOWED = ("bot.adapters", "bot.serve")
SDKS = ("slack_bolt", "slack_sdk", "telegram")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a package's submodule when one is named)
    line: int
    lazy: bool  # inside a function
    type_only: bool  # under `if TYPE_CHECKING:`


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files(root: Path = ROOT) -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.relative_to(root).parts:  # Alembic's own scripts
                files.append(path)
    return files


def imports_of(path: Path, modules: set[str], root: Path = ROOT) -> Iterator[Import]:
    """Every import of a project module in `path`, resolved to the module it names."""
    source = module_name(path, root)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, lazy: bool, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            in_function = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            guarded = type_only or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        yield Import(source, alias.name, child.lineno, lazy, type_only)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    target = child.module or ""
                if target.split(".")[0] in PACKAGES:
                    for alias in child.names:
                        named = f"{target}.{alias.name}"
                        yield Import(
                            source,
                            named if named in modules else target,
                            child.lineno,
                            lazy,
                            type_only,
                        )
            yield from walk(child, in_function, guarded)

    yield from walk(tree, False, False)


def floor_of(module: str) -> int:
    best, floor = -1, -1
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, floor = len(prefix), index
    return floor


def package_of(module: str) -> str:
    """The prefix that placed the module on its floor."""
    floor = floor_of(module)
    prefixes = FLOORS[floor][1]
    return max((p for p in prefixes if module == p or module.startswith(p + ".")), key=len)


def all_imports(root: Path = ROOT) -> list[Import]:
    files = project_files(root)
    modules = {module_name(path, root) for path in files}
    return [imp for path in files for imp in imports_of(path, modules, root)]


def upward(imports: Iterable[Import]) -> list[str]:
    found = []
    for imp in imports:
        src, dst = floor_of(imp.source), floor_of(imp.target)
        if dst > src:
            found.append(
                f"{imp.source}:{imp.line} ({FLOORS[src][0]}) imports {imp.target} "
                f"({FLOORS[dst][0]}, a higher floor)"
            )
        elif dst == src and FLOORS[src][0] in SIDE_BY_SIDE:
            if package_of(imp.source) != package_of(imp.target):
                found.append(f"{imp.source}:{imp.line} imports {imp.target}, beside it")
    return found


def adapters_in_the_store(imports: Iterable[Import]) -> list[str]:
    """Adapters only translate: whatever needs the store, they ask the engine for."""
    return [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in imports
        if imp.source.startswith("bot.adapters") and imp.target.split(".")[0] == "store"
    ]


def hidden(imports: Iterable[Import]) -> list[str]:
    found = []
    for imp in imports:
        if imp.type_only:
            found.append(f"{imp.source}:{imp.line} imports {imp.target} only for type checking")
        elif imp.lazy:
            found.append(f"{imp.source}:{imp.line} imports {imp.target} inside a function")
    return found


def circles(imports: Iterable[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), from every import."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def string_imports(root: Path = ROOT) -> list[str]:
    """`importlib.import_module("bot...")` and `__import__("bot...")`: arrows nobody sees."""
    found = []
    for path in project_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
                in ("import_module", "__import__")
            ):
                found.append(f"{module_name(path, root)}:{node.lineno} imports by name")
    return found


def sdk_imports(root: Path = ROOT) -> list[str]:
    found = []
    for path in project_files(root):
        name = module_name(path, root)
        if name.startswith(SDK_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for imported in names:
                if imported.split(".")[0] in SDKS or imported.startswith(
                    ("bot.adapters.slack", "bot.adapters.telegram")
                ):
                    found.append(f"{name}:{getattr(node, 'lineno', 0)} imports {imported}")
    return found


# ---- the house as it is ----------------------------------------------------------------


def test_every_module_has_a_floor():
    modules = {module_name(path) for path in project_files()}
    assert len(modules) > 100  # the walk really found the house
    assert [m for m in sorted(modules) if floor_of(m) < 0] == []


def test_modules_import_only_from_their_floor_or_below():
    assert upward(all_imports()) == []


def test_adapters_ask_the_engine_instead_of_reading_the_store():
    assert adapters_in_the_store(all_imports()) == []


def test_no_import_circles():
    assert circles(all_imports()) == []


def test_no_project_import_hides_inside_a_function_or_a_string():
    assert hidden(all_imports()) == []
    assert string_imports() == []


def test_core_packages_do_not_import_chat_sdks():
    assert sdk_imports() == []


def test_importing_the_core_loads_no_chat_sdk_and_changes_no_environment():
    """Importing the core (engine, journeys, store, the desk an engine process builds...)
    must not drag in a chat SDK, and importing any module (the adapters included) must not
    change the process's state."""
    code = (
        "import os, sys; before = dict(os.environ); "
        "import bot.chat.engine, bot.chat.conversation, bot.chat.understanding, "
        "bot.approvals, bot.chat.verbs, journeys, intents, store.tickets, "
        "notifications.dispatch, bot.adapters.memory, bot.adapters.console, bot.app, "
        "bot.processes; "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('slack_bolt','slack_sdk','telegram')]; "
        "import bot.adapters.slack, bot.adapters.telegram, bot.serve, bot.cli; "
        "changed = sorted(k for k in set(before) | set(os.environ) "
        "if before.get(k) != os.environ.get(k)); "
        "print(bad, changed); sys.exit(1 if bad or changed else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- the checks catch what they are for ---------------------------------------------------


@pytest.fixture
def little_house(tmp_path: Path) -> Path:
    """A tree with one of each offence, named like the real packages."""
    files = {
        "bot/__init__.py": "",
        "bot/base/__init__.py": "",
        "bot/base/messages.py": "from bot.desk import Desk\n",  # up from the ground floor
        "bot/desk.py": "from bot.base import messages\n",
        "bot/chat/__init__.py": "",
        "bot/chat/engine.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from bot.adapters import console\n"
            "def route():\n    from bot.chat import talk\n"
        ),
        "bot/chat/talk.py": "import importlib\nimport slack_sdk\nfrom bot.chat import engine\n",
        "bot/adapters/__init__.py": "",
        "bot/adapters/console.py": "from bot.chat.engine import route\nfrom store import db\n",
        "store/__init__.py": "",
        "store/db.py": "from intents import catalog\n",  # beside it, not below
        "intents/__init__.py": "",
        "intents/catalog.py": "",
        "journeys/__init__.py": "",
        "notifications/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "bot/chat/talk.py").write_text(
        "import importlib\nimport slack_sdk\nfrom bot.chat import engine\n"
        "importlib.import_module('bot.chat.engine')\n",
        encoding="utf-8",
    )
    return tmp_path


def test_the_checks_catch_each_offence(little_house: Path):
    imports = all_imports(little_house)
    assert upward(imports) == [
        "bot.base.messages:1 (ground) imports bot.desk (operations, a higher floor)",
        "bot.chat.engine:3 (chat) imports bot.adapters.console (adapters, a higher floor)",
        "store.db:1 imports intents.catalog, beside it",
    ]
    assert hidden(imports) == [
        "bot.chat.engine:3 imports bot.adapters.console only for type checking",
        "bot.chat.engine:5 imports bot.chat.talk inside a function",
    ]
    assert sorted(circles(imports)) == [
        ["bot.adapters.console", "bot.chat.engine", "bot.chat.talk"],
        ["bot.base.messages", "bot.desk"],
    ]
    assert adapters_in_the_store(imports) == ["bot.adapters.console:2 imports store.db"]
    assert string_imports(little_house) == ["bot.chat.talk:4 imports by name"]
    assert sdk_imports(little_house) == ["bot.chat.talk:2 imports slack_sdk"]
