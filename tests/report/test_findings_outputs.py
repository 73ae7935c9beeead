"""The findings stage (emovec.stages.findings -> emovec.report.findings_outputs): every output
written together from the tracked inputs, identical on a re-run, the JSON records equal to what
the tables format; a bad ledger stops it before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from emovec.geometry.rsa_study import RSACell, RSASettings, rsa_rows
from emovec.stages.findings import main

from helpers.separation_outputs import run_analyses_stage, separation_cells, write_separation_outputs

LEDGER = Path(__file__).resolve().parents[2] / "paper" / "findings.yaml"
FAST = {"depths": [0.0, 1.0], "n_perm": 99, "n_boot": 40, "seed": 0, "level": 0.95}


def claims_ledger(tmp: Path, edit=None) -> Path:
    raw = yaml.safe_load(LEDGER.read_text())
    raw["settings"]["rsa"] = dict(FAST)
    if edit:
        edit(raw)
    path = tmp / "findings.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def paper_stage_argv(inp: dict[str, Path], ledger: Path, out: Path) -> list[str]:
    return ["--config", str(inp["config"]), "--findings", str(ledger), "--separation-dir", str(inp["separation"]),
            "--analyses-dir", str(inp["analyses"]), "--valence-dir", str(inp["config"].parent / "no-valence"),
            "--vectors-dir", str(inp["vectors"]), "--out", str(out)]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("findings_stage")
    inp = run_analyses_stage(write_separation_outputs(root / "in"))
    ledger = claims_ledger(root)
    assert main(paper_stage_argv(inp, ledger, root / "out1")) == 0
    assert main(paper_stage_argv(inp, ledger, root / "out2")) == 0
    return {"inp": inp, "ledger": ledger, "out": root / "out1", "again": root / "out2"}


def test_every_output_is_written_and_a_rerun_is_byte_identical(run, monkeypatch):
    names = sorted(p.name for p in run["out"].iterdir())
    assert names == ["findings.json", "findings.tex", "findings_forest.png", "provenance.json", "rsa.json", "rsa.tex",
                     "rsa_heatmap.png"]
    for name in names:
        assert (run["out"] / name).read_bytes() == (run["again"] / name).read_bytes(), name


def test_rsa_record_holds_every_pair_corpus_and_depth(run):
    node = json.loads((run["out"] / "rsa.json").read_text())
    assert node["settings"] == {**FAST, "depths": [0.0, 1.0]}
    rows = node["rows"]
    # 2 corpora x 1 model pair (toy_base, toy-instruct: one family, base and instruct) x (reported + 2 depths)
    assert [(r["corpus"], r["kind"], r["depth"]) for r in rows] == [
        (c, "base_instruct", d) for c in ("toy-generation", "toy-comprehension") for d in ("reported", "0", "1")]
    # Exactly what the RSA study computes from the tracked vectors (the stage adds nothing), and every
    # Mantel p is a permutation p: k / (n_perm + 1) for a whole k >= 1.
    cells = [RSACell(c["model"], c["corpus"], c["family"], c["variant"], c["n_layers"], c["layer"]) for c in separation_cells()]
    assert rows == json.loads(json.dumps(rsa_rows(cells, run["inp"]["vectors"], RSASettings(**{**node["settings"], "depths": tuple(node["settings"]["depths"])}))))
    assert all(r["n_perm"] == 99 and (r["p_mantel"] * 100).is_integer() and r["p_mantel"] >= 1 / 100 for r in rows)


def test_findings_record_matches_the_ledger_and_the_table(run):
    rows = json.loads((run["out"] / "findings.json").read_text())
    ids = [f["id"] for f in yaml.safe_load(LEDGER.read_text())["findings"]]
    assert list(dict.fromkeys(r["id"] for r in rows)) == ids  # every claim, in ledger order
    by = {(r["id"], r["subject"]): r for r in rows}
    # the toy run has one base/instruct pair: the within-family claim applies, the cross-model one has no subject
    base_instr = [r for r in rows if r["id"] == "jeong2026b.base_instruct_geometry_kept"]
    assert len(base_instr) == 2 and all(r["estimate"] is not None for r in base_instr)
    cross = [r for r in rows if r["id"] == "jeong2026b.geometry_shared_across_architectures"]
    assert [(r["subject"], r["verdict"]) for r in cross] == [("(run)", "not applicable")]
    assert "needs two models on one corpus" in cross[0]["reason"]
    # no valence cell in this run: one "not applicable" row per valence claim
    assert by[("vanderben.valence_on_pc1", "(run)")]["verdict"] == "not applicable"
    tex = (run["out"] / "findings.tex").read_text()
    for r in rows:
        if r["estimate"] is not None:
            e = r["estimate"]
            assert f"{e['value']:+.3f} [{e['ci_low']:+.3f}, {e['ci_high']:+.3f}]" in tex
    assert "Provenance: emovec git" in tex


@pytest.mark.parametrize("edit,fragment", [
    (lambda raw: raw["findings"][0].update(statistic="nope"), "statistic 'nope' is not registered"),
    (lambda raw: raw["findings"][0].pop("side"), "rule ci_side needs side"),
    (lambda raw: raw["settings"]["rsa"].pop("n_perm"), "settings.rsa must hold exactly"),
    (lambda raw: raw["settings"]["rsa"].update(depths=[0.5, 2]), "settings.rsa.depths must be"),
])
def test_a_bad_ledger_exits_2_and_writes_nothing(run, tmp_path, capsys, edit, fragment):
    ledger = claims_ledger(tmp_path, edit)
    out = tmp_path / "out"
    assert main(paper_stage_argv(run["inp"], ledger, out)) == 2
    assert fragment in capsys.readouterr().err and not out.exists()
