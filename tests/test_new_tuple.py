"""``tuple.__new__(SomeNamedTuple, (...))`` skips the NamedTuple's own ``__new__`` on the hot
path, and with it every check of the field count: a field added later (``Proof.deferred``) was
left out of such a tuple, and reading it raised IndexError. Every such call in the package must
give exactly one value per field."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import hookseal

PACKAGE = Path(hookseal.__file__).parent


def _calls() -> list[tuple[str, int, str, int]]:
    """(module, line, class name, number of values) for each _new_tuple(Name, (a, b, ...))."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("hookseal", *path.relative_to(PACKAGE).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_new_tuple"
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Name)
            ):
                values = node.args[1]
                assert isinstance(values, ast.Tuple), f"{module}:{node.lineno}: a literal tuple"
                found.append(
                    (
                        module.removesuffix(".__init__"),
                        node.lineno,
                        node.args[0].id,
                        len(values.elts),
                    )
                )
    return found


def test_every_tuple_made_without_its_new_has_one_value_per_field() -> None:
    calls = _calls()
    assert len(calls) >= 5  # the hot paths' uses: Verified, RequestTarget, Proof
    for module, line, name, count in calls:
        kind = getattr(importlib.import_module(module), name)
        assert count == len(kind._fields), f"{module}:{line}: {name} has {kind._fields}"
