"""The layers of the code stay layered: handlers/ → bot/ → storage/, and bot/'s folders in order;
`/shelf`'s commands ask bot/services/ for what they show, never storage/.

Read from the source with `ast`, so a new import that crosses a layer fails here, in review,
rather than in a newcomer's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# bot/'s parts from the top down: each may import those after it, never those before.
BOT_ORDER = ["bot.cli", "bot.demo", "bot.runtime", "handlers", "bot.commands", "bot.services", "bot.slack",
             "bot.settings", "bot.reading", "bot.text", "storage"]  # fmt: skip


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in ("bot", "handlers", "storage")}


def layer(module: str) -> int:
    for rank, prefix in enumerate(BOT_ORDER):
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return -1  # bot/__init__.py: the version, importable by all


def modules() -> list[Path]:
    return sorted(p for top in ("bot", "handlers", "storage") for p in (ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_imports_only_layers_below_it(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    own = layer(module)
    upward = [name for name in imports(path) if 0 <= layer(name) < own]
    assert upward == [], f"{module} reaches up into {upward}"


def test_handlers_never_touch_storage_and_storage_knows_no_one() -> None:
    for path in (ROOT / "handlers").rglob("*.py"):
        assert not {name for name in imports(path) if name.startswith("storage")}, path
    for path in (ROOT / "storage").rglob("*.py"):
        assert not {name for name in imports(path) if name.startswith(("bot", "handlers"))}, path


DATABASE = {"storage", "sqlmodel", "sqlalchemy"}  # what a command may not import
SESSIONS = {"new_session", "transaction", "engine"}  # what of `Services` a command may not touch


def commands() -> list[Path]:
    return sorted((ROOT / "bot" / "commands").rglob("*.py"))


@pytest.mark.parametrize("path", commands(), ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_ask_services_never_storage(path: Path) -> None:
    """storage/ and bot/services/ apply the privacy rule (`visible_to`, `seen_by`); a command that
    read the tables itself could read around it. So a command imports nothing from storage/, no
    database library, and opens no session: the service it calls owns one."""
    tree = ast.parse(path.read_text())
    libraries = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    libraries |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    reached = sorted(name for name in libraries if name.split(".")[0] in DATABASE)
    assert reached == [], f"{path.relative_to(ROOT)} imports {reached}: ask a function in bot/services/"
    opened = sorted({node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} & SESSIONS)
    assert opened == [], f"{path.relative_to(ROOT)} opens {opened} itself: let a service in bot/services/ do it"
