"""emovec.models.weight_requirements: the packaged weights' requirements are generated from
conf/model/ (the one home of a model's packages), and requirements-lexicons.txt pins exactly the
packages the conf/steering classifiers read that pyproject.toml does not install."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from emovec.config.schema import ClassifierConfig
from emovec.errors import EmovecInputError
from emovec.models.weight_requirements import (
    HEADER,
    canonical_name,
    main,
    packaged_weights,
    requirements_text,
    weight_requirements,
)
from emovec.paths import CONF_DIR, REPO_ROOT

LEXICONS = REPO_ROOT / "requirements-lexicons.txt"
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9._+!-]+)")


def _model(conf: Path, name: str, weights: dict | None) -> None:
    (conf / "model").mkdir(parents=True, exist_ok=True)
    body = {"name": name, "family": "f"} | ({"weights": weights} if weights is not None else {})
    (conf / "model" / f"{name}.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")


def _chunked(meta: str | None, parts: list[tuple[str, str]]) -> dict:
    return {"source": "gguf_package", "sha256": "0" * 64, "quantisation": "Q4_K_M",
            "package": meta, "version": "1.0" if meta else None,
            "chunks": [{"package": p, "version": v, "path": f"{p}/data/part.bin"} for p, v in parts]}


def test_the_requirements_are_every_models_packages_once_in_config_order(tmp_path: Path):
    _model(tmp_path, "a-single", {"source": "gguf_package", "package": "one-file", "version": "0.1.2",
                                  "file": "one_file/m.gguf", "sha256": "0" * 64, "quantisation": "Q4_1"})
    _model(tmp_path, "b-chunked", _chunked("meta", [("meta-part1", "1.0"), ("meta-part2", "1.0")]))
    _model(tmp_path, "c-shares", _chunked(None, [("Meta_Part2", "1.0"), ("other-part1", "0.9.0")]))
    _model(tmp_path, "d-hub", None)  # a hub model: nothing to install
    assert weight_requirements(tmp_path) == [
        ("one-file", "0.1.2", "a-single"), ("meta", "1.0", "b-chunked"), ("meta-part1", "1.0", "b-chunked"),
        ("meta-part2", "1.0", "b-chunked"), ("other-part1", "0.9.0", "c-shares")]
    assert requirements_text(tmp_path) == HEADER + (
        "one-file==0.1.2  # a-single\nmeta==1.0  # b-chunked\nmeta-part1==1.0  # b-chunked\n"
        "meta-part2==1.0  # b-chunked\nother-part1==0.9.0  # c-shares\n")


def test_one_package_at_two_versions_is_an_error_naming_both_files_and_nothing_is_written(tmp_path: Path):
    _model(tmp_path, "a", _chunked(None, [("shared-part1", "1.0")]))
    _model(tmp_path, "b", _chunked(None, [("shared_part1", "2.0")]))
    out = tmp_path / "req.txt"
    with pytest.raises(EmovecInputError, match=r"b.yaml: weights pin shared_part1==2.0 but .*a.yaml pins "
                                               r"shared_part1==1.0"):
        weight_requirements(tmp_path)
    assert main(["--out", str(out), "--conf-dir", str(tmp_path)]) == 2
    assert not out.exists()


def test_a_weights_block_the_schema_does_not_describe_is_an_error_naming_the_file(tmp_path: Path):
    _model(tmp_path, "bad", _chunked(None, [("p", "1")]) | {"packge": "typo"})
    with pytest.raises(EmovecInputError, match=r"bad.yaml: weights: .*packge"):
        packaged_weights(tmp_path)


def test_the_project_conf_yields_the_packaged_models_pins(tmp_path: Path):
    """Every conf/model/*.yaml weights block is installed at its versions, and the file the
    Makefile installs is exactly the generated text."""
    reqs = weight_requirements()
    assert {m for _, _, m in reqs} == {p.stem for p in packaged_weights()} != set()
    out = tmp_path / "req.txt"
    assert main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == requirements_text()
    for dist, version, _ in reqs:
        assert f"\n{dist}=={version}  # " in out.read_text(encoding="utf-8")


# ---- requirements-lexicons.txt ------------------------------------------------------------------

def pinned_lexicons() -> dict[str, str]:
    """Canonical package name -> pinned version, one per non-comment line (each must be ``name==version``)."""
    out: dict[str, str] = {}
    for i, line in enumerate(LEXICONS.read_text(encoding="utf-8").splitlines(), start=1):
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        m = _PIN.fullmatch(spec)
        assert m, f"{LEXICONS.name}:{i}: {spec!r} is not pinned as name==version"
        name = canonical_name(m.group(1))
        assert name not in out, f"{LEXICONS.name}:{i}: {name} pinned twice"
        out[name] = m.group(2)
    return out


def classifier_packages(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Canonical names of the distributions the classifiers listed by conf/steering/*.yaml read
    (each lexicon classifier's display name asks for its package's installed version)."""
    from emovec.steering.classifiers import CLASSIFIER_INFO

    asked: set[str] = set()

    def version(dist: str) -> str:
        asked.add(canonical_name(dist))
        return "0"

    monkeypatch.setattr(importlib.metadata, "version", version)
    for path in sorted((CONF_DIR / "steering").glob("*.yaml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("classifiers") or []:
            CLASSIFIER_INFO[entry["name"]].display(ClassifierConfig(**entry))
    return asked


def project_dependencies() -> set[str]:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return {canonical_name(re.split(r"[\s=<>!~;\[]", d, maxsplit=1)[0]) for d in deps}


def test_the_lexicon_pins_are_the_classifier_packages_the_project_does_not_install(monkeypatch):
    needed = classifier_packages(monkeypatch) - project_dependencies()
    assert needed, "the conf/steering classifiers read no package (the check below would pass vacuously)"
    assert set(pinned_lexicons()) == needed


def test_each_package_is_installed_one_way():
    """A package is a project dependency, a lexicon pin or a model's weight package: never two."""
    weights = {canonical_name(d) for d, _, _ in weight_requirements()}
    deps, lexicons = project_dependencies(), set(pinned_lexicons())
    assert not (deps & lexicons) and not (deps & weights) and not (lexicons & weights)
