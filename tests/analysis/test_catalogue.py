"""The analyses stage: statistics written once as tracked JSON, read back bit for bit by the paper
stage, which refuses to render without them (it computes no statistic itself)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from emovec.analysis.catalogue import ANALYSES, compute_analyses, read_analyses
from emovec.analysis.gen_vs_comp import compare_models
from emovec.errors import EmovecInputError
from emovec.readers.paper_inputs import EXPERIMENTS, load_paper_inputs
from emovec.stages.analyses import main as analyses_main
from emovec.stages.paper import main as paper_main

import helpers.separation_outputs as sep


def _load(inp: dict[str, Path]):
    return load_paper_inputs(inp["config"], inp["separation"], inp["vectors"], "absent", "absent", "absent", "absent")


def _same(a: object, b: object) -> bool:
    """Equal, NaN matching NaN (json keeps NaN; NaN != NaN in Python)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_registered_analyses_name_their_experiment_and_what_they_report():
    for name, analysis in ANALYSES.items():
        assert analysis.experiment in EXPERIMENTS, name
        assert "unit" in analysis.about and "CI" in analysis.about, name


def test_written_results_read_back_bit_for_bit(tmp_path):
    inp = sep.write_separation_outputs(tmp_path / "in")
    assert analyses_main(["--config", str(inp["config"]), "--separation-dir", str(inp["separation"]),
                          "--vectors-dir", str(inp["vectors"]), "--out", str(tmp_path / "a")]) == 0
    inputs = _load(inp)
    direct = compute_analyses(inputs)
    read = read_analyses(tmp_path / "a", inputs).analyses
    assert set(read) == set(direct) == {"gen_vs_comp"}
    for name in direct:
        assert _same(ANALYSES[name].to_json(read[name]), ANALYSES[name].to_json(direct[name]))
    # The file holds what compare_models computes, with what it means beside it.
    node = json.loads((tmp_path / "a" / "gen_vs_comp.json").read_text())
    expected = compare_models(inputs.separation.cells, inputs.separation.resampling)
    assert node["analysis"] == "gen_vs_comp" and node["about"] == ANALYSES["gen_vs_comp"].about
    got = node["result"]["comparisons"][0]
    want = expected.comparisons[0]
    assert got["model"] == want.model and got["wilcoxon_p"] == want.wilcoxon_p and tuple(got["d_ci"]) == want.d_ci
    assert node["result"]["wilcoxon_p_bh"] == list(expected.wilcoxon_p_bh)
    assert math.isfinite(node["result"]["sign_p"])


def test_paper_stage_refuses_without_the_analyses_and_writes_nothing(tmp_path, capsys):
    inp = sep.write_separation_outputs(tmp_path / "in")
    out = tmp_path / "out"
    assert paper_main(sep.paper_stage_argv(inp, out)) == 2
    err = capsys.readouterr().err
    assert "gen_vs_comp.json does not exist: run the analyses stage" in err
    assert not out.exists()


def test_a_file_of_another_analysis_is_named(tmp_path):
    inp = sep.write_separation_outputs(tmp_path / "in")
    bad = tmp_path / "a"
    bad.mkdir()
    (bad / "gen_vs_comp.json").write_text(json.dumps({"analysis": "other", "about": "", "result": {}}))
    with pytest.raises(EmovecInputError, match=r"gen_vs_comp.json: holds analysis 'other', expected 'gen_vs_comp'"):
        read_analyses(bad, _load(inp))
    (bad / "gen_vs_comp.json").write_text(json.dumps({"analysis": "gen_vs_comp", "result": {"comparisons": [{}]}}))
    with pytest.raises(EmovecInputError, match=r"gen_vs_comp.json: not a gen_vs_comp analysis .*re-run the analyses stage"):
        read_analyses(bad, _load(inp))
