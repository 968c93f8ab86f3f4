"""Arrows point down (style.md): db/ knows nothing above it, and a use case knows the database and
the kit, never a handler or the runtime that assembles them."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
KIT = {"bot.i18n", "bot.labels"}


@cache
def imports_of(package: str) -> dict[str, set[str]]:
    """Every module each file of the package imports, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("path", sorted(imports_of("db")))
def test_the_database_layer_imports_no_bot_use_case_or_handler(path: str) -> None:
    above = {"bot", "usecases", "handlers"}
    assert {name for name in imports_of("db")[path] if name.split(".")[0] in above} == set()


def allowed_in_a_use_case(module: str) -> bool:
    top = module.split(".")[0]
    if top == "bot":
        return any(module == kit or module.startswith(f"{kit}.") for kit in KIT)
    return top != "handlers"


@pytest.mark.parametrize("path", sorted(imports_of("usecases")))
def test_a_use_case_imports_the_database_and_the_kit_only(path: str) -> None:
    assert {name for name in imports_of("usecases")[path] if not allowed_in_a_use_case(name)} == set()
