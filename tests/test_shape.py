"""The product's shape rules (issue 24): no function over 40 lines, no class over 15 methods
outside the store backends (whose ``Tx`` is a repository by design). Lists every offender."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "handlers", "providers")
MAX_FUNCTION_LINES = 40
MAX_METHODS = 15
STORE_BACKENDS = {"Tx", "DocumentTx", "PostgresTx", "TinyDBStore"}


def _trees() -> list[tuple[str, ast.Module]]:
    files = sorted(f for package in PRODUCT for f in (ROOT / package).rglob("*.py"))
    return [(str(f.relative_to(ROOT)), ast.parse(f.read_text(encoding="utf-8"))) for f in files]


def test_no_function_over_40_lines() -> None:
    long = [
        f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for name, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES
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
