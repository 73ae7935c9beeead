"""emovec.registry: one registry type for every extension point; duplicates refused, unknown
names answered with the known ones."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pytest

from emovec.errors import EmovecInputError
from emovec.registry import Registry

# Every registry of the package: (module, attribute). A new extension point is added here.
PACKAGE_REGISTRIES = [
    ("emovec.activations.pooling", "POOLINGS"),
    ("emovec.baselines", "BASELINES"),
    ("emovec.corpora.stimuli", "PASSAGE_READERS"),
    ("emovec.corpora.stimuli", "TEMPLATE_READERS"),
    ("emovec.corpora.stories", "STORY_READERS"),
    ("emovec.corpora.stories", "RESPONSE_SPLITTERS"),
    ("emovec.corpora.scenarios", "SCENARIO_READERS"),
    ("emovec.corpora.norms", "NORM_SOURCES"),
    ("emovec.geometry.orientation", "ORIENTATIONS"),
    ("emovec.models.weights", "WEIGHT_SOURCES"),
    ("emovec.steering.norm_reference", "NORM_REFERENCES"),
    ("emovec.steering.classifier_registry", "CLASSIFIERS"),
    ("emovec.steering.classifier_registry", "CLASSIFIER_INFO"),
    ("emovec.ledgers.claim_ledger", "MEASURES"),
    ("emovec.ledgers.finding_core", "FINDING_STATISTICS"),
]


def _double(x: int) -> int:
    return 2 * x


def test_register_returns_the_entry_and_reads_as_a_mapping():
    reg: Registry = Registry("widget")
    assert reg.register("double")(_double) is _double
    reg.add("one", 1)
    assert isinstance(reg, Mapping)
    assert list(reg) == ["double", "one"] and len(reg) == 2
    assert reg["double"] is _double and "one" in reg and "two" not in reg
    assert reg.lookup("one") == 1
    assert dict(reg) == {"double": _double, "one": 1}


def test_a_duplicate_name_is_refused_and_the_first_entry_kept():
    reg: Registry = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(EmovecInputError, match=r"^widget 'a' is already registered$"):
        reg.add("a", 2)
    with pytest.raises(EmovecInputError, match="already registered"):
        reg.register("a")(_double)
    assert reg["a"] == 1 and len(reg) == 1


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_name_must_be_a_non_empty_string(name):
    with pytest.raises(EmovecInputError, match="widget name must be a non-empty string"):
        Registry("widget").add(name, 1)


def test_lookup_of_an_unknown_name_names_the_key_the_value_and_the_known_entries():
    reg: Registry = Registry("pooling")
    reg.add("mean", 1)
    reg.add("last", 2)
    with pytest.raises(EmovecInputError) as err:
        reg.lookup("meen", "corpus.pooling")
    assert str(err.value) == "unknown pooling corpus.pooling='meen'; known: ['last', 'mean']"
    with pytest.raises(EmovecInputError, match=r"^unknown pooling 'meen'; known: \['last', 'mean'\]$"):
        reg.lookup("meen")
    with pytest.raises(KeyError):  # plain indexing keeps the Mapping contract
        reg["meen"]


def test_unregister_removes_the_entry_so_the_name_can_be_taken_again():
    reg: Registry = Registry("widget")
    reg.add("a", 1)
    assert reg.unregister("a") == 1 and "a" not in reg
    reg.add("a", 2)
    assert reg["a"] == 2


@pytest.mark.parametrize("module,attr", PACKAGE_REGISTRIES)
def test_every_package_registry_is_a_registry_that_refuses_duplicates(module, attr):
    importlib.import_module("emovec.ledgers.claims")  # imports the claim measure modules, which fill MEASURES
    importlib.import_module("emovec.steering.classifiers")  # imports every classifier module
    reg = getattr(importlib.import_module(module), attr)
    assert isinstance(reg, Registry) and len(reg) > 0
    first = next(iter(reg))
    entry = reg[first]
    with pytest.raises(EmovecInputError, match="already registered"):
        reg.add(first, entry)
    assert reg[first] is entry


def test_the_list_above_holds_every_module_level_registry_of_the_package():
    """No extension point is a bare dict: every module-level Registry is listed above, and no
    module-level ``register_*`` function stores into a module-level name by subscript."""
    import ast
    from pathlib import Path

    import emovec

    root = Path(emovec.__file__).parent
    found, dict_writers = set(), []
    for path in sorted(root.rglob("*.py")):
        module = "emovec." + ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Call) and \
                    getattr(node.value.func, "id", None) == "Registry":
                found.add((module, node.target.id))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("register_"):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Assign) and any(
                            isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) for t in sub.targets):
                        dict_writers.append(f"{module}.{node.name}")
    assert found == set(PACKAGE_REGISTRIES)
    assert dict_writers == []
