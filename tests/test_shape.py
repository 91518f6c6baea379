"""The product's shape rules (issue 24): no function over 40 lines, no class over 15 methods
outside the store backends (whose ``Tx`` is a repository by design), a docstring atop every
file and a row for it in docs/architecture.md's file-role table. Lists every offender."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "handlers", "providers")
MAX_FUNCTION_LINES = 40
MAX_METHODS = 15
STORE_BACKENDS = {"Tx", "DocumentTx", "PostgresTx", "TinyDBStore"}


@cache
def _trees() -> list[tuple[str, ast.Module]]:
    files = sorted(f for package in PRODUCT for f in (ROOT / package).rglob("*.py"))
    return [(str(f.relative_to(ROOT)), ast.parse(f.read_text(encoding="utf-8"))) for f in files]


def test_no_function_over_40_lines() -> None:
    long = [
        f"{name}:{node.lineno} {node.name} ({size} lines)"
        for name, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if (size := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_no_class_over_15_methods_outside_the_store_backends() -> None:
    wide = [
        f"{name}:{node.lineno} {node.name} ({count} methods)"
        for name, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name not in STORE_BACKENDS
        if (count := sum(isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) for b in node.body)) > MAX_METHODS
    ]
    assert wide == []


def test_every_product_file_has_a_row_in_the_architecture_table() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc.split("## Each file's role", 1)[1].split("\n## ", 1)[0]
    missing = [name for name, _tree in _trees() if f"`{name}`" not in table]
    assert missing == []


def test_every_product_file_opens_with_a_docstring() -> None:
    assert [name for name, tree in _trees() if not ast.get_docstring(tree)] == []
