"""The range engine's dispatch: every class name in exactly one family, families loaded on use."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import vaecheck.ranges
from vaecheck.ranges import dispatch


@pytest.mark.parametrize("family", sorted(dispatch.FAMILIES))
def test_a_family_holds_the_classes_dispatch_names_for_it(family: str) -> None:
    module = importlib.import_module(f"vaecheck.ranges.{family}")
    listed = dispatch.FAMILIES[family].split()
    assert len(listed) == len(set(listed)), f"{family} lists a class twice"
    assert sorted(module.TRANSFERS) == sorted(listed)


def test_no_class_is_in_two_families() -> None:
    seen: dict[str, str] = {}
    for family, block in dispatch.FAMILIES.items():
        for name in block.split():
            assert name not in seen, f"{name} is in {seen.get(name)} and {family}"
            seen[name] = family
    assert seen == dispatch.FAMILY_OF


def test_a_class_with_a_transfer_function_is_not_listed_as_unsupported() -> None:
    assert not set(dispatch.FAMILY_OF) & dispatch.KERAS_LAYERS_NOT_INTERPRETED


def test_every_family_module_is_in_the_dispatch() -> None:
    helpers = {
        "activations", "arithmetic", "dispatch", "evaluate", "layer_call", "piecewise",
        "values", "weight_bounds", "weights",
    }  # fmt: skip
    # ONNX operators have their own table, reached by the node's module ("onnx"), not by class.
    onnx = {"onnx"}
    modules = {m.name for m in pkgutil.iter_modules(vaecheck.ranges.__path__)}
    assert modules - helpers - onnx == set(dispatch.FAMILIES)


@pytest.mark.parametrize(
    "name", sorted(m.name for m in pkgutil.iter_modules(vaecheck.ranges.__path__))
)
def test_each_module_says_what_it_bounds_and_where_the_facts_are(name: str) -> None:
    doc = importlib.import_module(f"vaecheck.ranges.{name}").__doc__ or ""
    assert doc.strip(), f"{name} has no docstring"
    if name in dispatch.FAMILIES or name in ("activations", "piecewise", "weight_bounds"):
        assert "KERAS_FACTS §" in doc


def test_unknown_class_has_no_transfer_function() -> None:
    assert dispatch.transfer_function("NoSuchLayer") is None
    assert dispatch.transfer_function("Dense") is dispatch.all_transfers()["Dense"]


LAZY = """
import sys
from vaecheck.graph import Graph, ModelOutput, Node, TensorRef
from vaecheck.ranges.evaluate import output_codomains

nodes = [
    Node("x", "x", "InputLayer", "keras.layers", {}),
    Node("d", "d", "Dense", "keras.layers", {"activation": "sigmoid"}, (TensorRef("x"),)),
]
graph = Graph({n.id: n for n in nodes}, [ModelOutput("d", TensorRef("d"))])
print(output_codomains(graph, "3.15.1")["d"].interval)
loaded = sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("vaecheck.ranges."))
print(" ".join(loaded))
"""


def test_a_model_loads_only_the_families_it_uses() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LAZY], capture_output=True, text=True, check=True, timeout=60
    )
    interval, loaded = result.stdout.splitlines()
    assert interval == "(0, 1)"
    families = set(loaded.split()) & set(dispatch.FAMILIES)
    assert families == {"core", "reshaping"}  # core's Masking pads with reshaping's zeros
