"""dvc.yaml lists exactly the code each stage runs (emovec.code_deps), and the imports form no cycle.

The oracle for "what a stage runs" is the standard library's bytecode scanner
(:class:`modulefinder.ModuleFinder`), which shares no code with the AST reader under test; and
``dvc status`` itself is asked which stages an edit to a module marks as changed.
"""

from __future__ import annotations

import json
import modulefinder
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emovec import code_deps

REPO = Path(__file__).resolve().parents[1]
DVC_YAML = REPO / "dvc.yaml"


def _entries() -> dict[str, str]:
    return code_deps.stage_entry_modules(DVC_YAML.read_text(encoding="utf-8"))


def test_dvc_yaml_code_deps_are_the_generated_ones():
    text = DVC_YAML.read_text(encoding="utf-8")
    assert code_deps.render_dvc_yaml(text) == text, "run: python -m emovec.code_deps --write"


def test_every_stage_has_a_generated_block_and_runs_a_package_module():
    stages = yaml.safe_load(DVC_YAML.read_text(encoding="utf-8"))["stages"]
    entries = _entries()
    assert set(entries) == set(stages)
    for stage, module in entries.items():
        assert code_deps.module_file(module) is not None, (stage, module)


def test_no_import_cycles():
    assert code_deps.import_cycles() == []


def test_transitive_modules_agree_with_modulefinder():
    """For every stage entry: the package modules ModuleFinder reaches from the entry's bytecode
    (function-local imports included) are exactly the ones code_deps lists."""
    graph = code_deps.import_graph()
    for module in sorted(set(_entries().values())):
        # Only src/ on the path: third-party and stdlib imports are left unresolved (not followed).
        finder = modulefinder.ModuleFinder(path=[str(code_deps.SRC_DIR)])
        finder.run_script(str(code_deps.module_file(module)))
        found = {name for name in finder.modules if name == "emovec" or name.startswith("emovec.")}
        # `python -m <module>` imports the entry and every package above it (run_script does not).
        parts = module.split(".")
        found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        # Modules imported by discovery (code_deps.DISCOVERS) are invisible to ModuleFinder:
        # follow them the same way from each discovering module it reached.
        for discovering in sorted(found & set(code_deps.DISCOVERS)):
            for m in sorted(code_deps.discovered_modules(discovering)):
                sub = modulefinder.ModuleFinder(path=[str(code_deps.SRC_DIR)])
                sub.run_script(str(code_deps.module_file(m)))
                found |= {n for n in sub.modules if n == "emovec" or n.startswith("emovec.")} | {m}
        found.discard("__main__")
        assert found == code_deps.transitive_modules(module, graph), module


def test_generated_deps_list_files_and_import_time_data(tmp_path):
    paths = code_deps.code_dep_paths("emovec.stages.toy_corpus")
    assert "src/emovec/toy/corpus.py" in paths
    for data in code_deps.IMPORT_TIME_DATA["emovec.toy.corpus"]:
        assert data in paths and (REPO / data).is_file()
    assert paths == sorted(set(paths))
    assert all((REPO / p).is_file() for p in paths)


def test_import_time_data_covers_every_module_level_read():
    """No module outside IMPORT_TIME_DATA reads a file when imported: a module-level call whose
    name starts with _read (the package's convention for import-time loaders) is declared."""
    import ast

    for path in sorted(code_deps.PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        loaders = [
            node for stmt in tree.body if isinstance(stmt, (ast.Assign, ast.AnnAssign))
            for node in ast.walk(stmt)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("_read")
        ]
        module = code_deps._module_name(path, code_deps.SRC_DIR)
        assert bool(loaders) == (module in code_deps.IMPORT_TIME_DATA), module


def _mini_package(root: Path, files: dict[str, str]) -> Path:
    src = root / "src"
    for rel, text in files.items():
        p = src / "emovec" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return src


def test_direct_imports_resolve_relative_local_and_from_imports(tmp_path):
    src = _mini_package(tmp_path, {
        "__init__.py": "",
        "a.py": "from emovec import b\nfrom .pkg import c\n\ndef f():\n    import emovec.pkg.d\n",
        "b.py": "from emovec.pkg.c import helper\n",
        "pkg/__init__.py": "",
        "pkg/c.py": "def helper():\n    from . import d\n",
        "pkg/d.py": "import os\n",
        "unused.py": "",
    })
    assert code_deps.direct_imports(src / "emovec" / "a.py", src) == {
        "emovec", "emovec.b", "emovec.pkg", "emovec.pkg.c", "emovec.pkg.d"}
    graph = code_deps.import_graph(src)
    assert code_deps.transitive_modules("emovec.b", graph, src) == {
        "emovec", "emovec.b", "emovec.pkg", "emovec.pkg.c", "emovec.pkg.d"}
    assert code_deps.import_cycles(graph) == []


def test_import_cycles_found_even_through_function_local_imports(tmp_path):
    src = _mini_package(tmp_path, {
        "__init__.py": "",
        "x.py": "def f():\n    from emovec import y\n",
        "y.py": "from emovec.z import g\n",
        "z.py": "import emovec.x\n",
    })
    assert code_deps.import_cycles(code_deps.import_graph(src)) == [["emovec.x", "emovec.y", "emovec.z"]]


def test_render_refuses_a_stage_without_a_block():
    text = ("stages:\n  one:\n    cmd: python -m emovec.stages.cka\n    deps:\n      - conf\n")
    with pytest.raises(ValueError, match="without a generated code-deps block: \\['one'\\]"):
        code_deps.render_dvc_yaml(text)


def test_render_refuses_an_unterminated_block():
    text = ("stages:\n  one:\n    cmd: python -m emovec.stages.cka\n    deps:\n"
            f"      {code_deps.BEGIN_MARKER}\n      - x\n")
    with pytest.raises(ValueError, match="without"):
        code_deps.render_dvc_yaml(text)


def test_check_exits_1_and_prints_the_difference(tmp_path, capsys):
    text = DVC_YAML.read_text(encoding="utf-8")
    stale = tmp_path / "dvc.yaml"
    stale.write_text(text.replace("      - src/emovec/stats/multiple.py\n", "", 1))
    assert code_deps.main(["--dvc-yaml", str(stale), "--check"]) == 1
    assert "+      - src/emovec/stats/multiple.py" in capsys.readouterr().out
    assert code_deps.main(["--dvc-yaml", str(DVC_YAML), "--check"]) == 0


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The tracked tree (dvc.yaml, dvc.lock, .dvc/config, src/) in a scratch git repo."""
    dvc = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    if not Path(dvc).exists():
        pytest.skip("dvc is not installed in this environment")
    dest = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if rel.startswith("src/") or rel in ("dvc.yaml", "dvc.lock", "data.dvc") or rel.startswith(
                (".dvc/", "conf/")) or rel == "paper/claims.yaml":
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (REPO / rel).is_file():
                shutil.copy2(REPO / rel, target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def _stages_with_changed_dep(repo: Path, rel: str) -> set[str]:
    dvc = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    out = subprocess.run([dvc, "status", "--json"], cwd=repo, capture_output=True, text=True, check=True).stdout
    marked = set()
    for stage, changes in json.loads(out).items():
        for change in changes:
            if isinstance(change, dict) and rel in change.get("changed deps", {}):
                marked.add(stage.split("@")[0])
    return marked


@pytest.mark.parametrize("rel", ["src/emovec/stats/multiple.py", "src/emovec/io.py",
                                 "src/emovec/report/tables.py", "src/emovec/activations/cache.py"])
def test_dvc_status_marks_exactly_the_stages_that_import_an_edited_module(repo_copy, rel):
    path = repo_copy / rel
    original = path.read_text()
    module = rel[len("src/"):-len(".py")].replace("/", ".")
    expected = {stage for stage, entry in _entries().items() if module in code_deps.transitive_modules(entry)}
    try:
        path.write_text(original + "\n# edited by tests/test_code_deps.py\n")
        assert _stages_with_changed_dep(repo_copy, rel) == expected
    finally:
        path.write_text(original)
    assert expected, f"{rel}: no stage imports it, the check would be vacuous"


def test_discovered_table_modules_are_exactly_the_ones_tables_imports():
    from emovec.report.tables import table_modules

    assert set(table_modules()) == code_deps.discovered_modules("emovec.report.tables")
    assert code_deps.discovered_modules("emovec.report.tables") <= code_deps.import_graph()["emovec.report.tables"]
