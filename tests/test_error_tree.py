"""The provider error tree (providers/errors.py): drawn in its docstring, families at the second
level, and no caller catching a tuple of provider errors instead of a family."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from providers import errors

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = (
    errors.TryLater,
    errors.OutcomeUnknown,
    errors.UserMustFix,
    errors.Refused,
    errors.OperatorMustAct,
    errors.OurBug,
    errors.WebhookRejected,
)
CLASSES = {name: cls for name, cls in vars(errors).items() if inspect.isclass(cls) and issubclass(cls, errors.ProviderError)}


def test_every_class_is_in_one_family_and_in_the_drawing() -> None:
    doc = errors.__doc__ or ""
    for name, cls in CLASSES.items():
        assert name in doc, f"{name} is not drawn in the tree"
        if cls is errors.ProviderError:
            continue
        assert sum(issubclass(cls, family) for family in FAMILIES) == 1, name


def test_the_families_say_what_to_do() -> None:
    for family in FAMILIES:
        assert family.__bases__ == (errors.ProviderError,) and family.__doc__


def _caught_names(node: ast.expr | None) -> list[str]:
    if isinstance(node, ast.Tuple):
        return [n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "") for n in node.elts]
    return []


def test_no_caller_catches_a_tuple_of_provider_errors() -> None:
    offenders = []
    for folder in ("bot", "handlers", "providers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ExceptHandler):
                    names = _caught_names(node.type)
                    if sum(name in CLASSES for name in names) >= 1 and len(names) > 1:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {names}")
    assert offenders == []
