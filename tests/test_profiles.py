"""Each chapter's profiles.py writes ``smoke`` out in full and ``ci`` and ``gpu`` as
``replace(<the profile below>, <only what changes>)``: no keyword restates a value the base
already has, and the registry serves the very objects the module defines."""

import ast
import importlib
import inspect
from typing import Any

import pytest

from effnotes.chapters import chapters

#: each derived profile and the module-level profile it is written from
DERIVED = {"CI": "SMOKE", "GPU": "CI"}


def _typed(value: Any) -> Any:
    """``value`` with its container and scalar types spelled out, so that ``1`` and ``1.0``,
    ``True`` and ``1``, or a tuple and a list count as different values."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _typed(v) for k, v in value.items()})
    return (type(value).__name__, value)


def _assignments(module) -> dict[str, ast.expr]:
    tree = ast.parse(inspect.getsource(module))
    return {node.targets[0].id: node.value for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)}


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_derived_profiles_state_only_what_they_change(chapter):
    module = importlib.import_module(f"{chapter.package}.profiles")
    assigned = _assignments(module)
    smoke = assigned["SMOKE"]
    assert isinstance(smoke, ast.Call) and getattr(smoke.func, "id", None) == "Profile", (
        "SMOKE is written out in full as Profile(...)")
    for name, base in DERIVED.items():
        call = assigned[name]
        assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "replace", (
            f"{name} is written as replace({base}, ...)")
        assert [getattr(a, "id", None) for a in call.args] == [base], (
            f"{name} is derived from {base}")
        derived, original = getattr(module, name), getattr(module, base)
        restated = [kw.arg for kw in call.keywords
                    if _typed(getattr(derived, kw.arg)) == _typed(getattr(original, kw.arg))]
        assert not restated, f"{name} restates {base}'s values for {restated}"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_registry_serves_the_modules_profiles(chapter):
    module = importlib.import_module(f"{chapter.package}.profiles")
    for profile, name in (("smoke", "SMOKE"), ("ci", "CI"), ("gpu", "GPU")):
        assert chapter.profile(profile) is getattr(module, name)
