"""The table registry (emovec.report.registry) and the one place tables are registered
(emovec.report.tables): names are unique, and the paper stage writes every registered table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emovec.readers.paper_inputs import EXPERIMENTS, PaperInputs
from emovec.report.registry import TableRegistry
from emovec.report.tables import TABLES
from emovec.stages.analyses import main as analyses_main
from emovec.stages.paper import main


def _const(text: str):
    return lambda inputs: text


def test_a_duplicate_table_name_is_refused():
    reg = TableRegistry()
    reg.register("a.tex", "separation", _const("A"))
    with pytest.raises(ValueError, match="'a.tex' is registered twice"):
        reg.register("a.tex", "valence", _const("B"))
    assert reg.names() == ("a.tex",)


@pytest.mark.parametrize("name, experiment, pattern", [
    ("a.csv", "separation", "must be a file name ending in .tex"),
    ("sub/a.tex", "separation", "must be a file name ending in .tex"),
    ("a.tex", "astrology", "experiment 'astrology' is not one of"),
])
def test_bad_registrations_are_refused(name: str, experiment: str, pattern: str):
    with pytest.raises(ValueError, match=pattern):
        TableRegistry().register(name, experiment, _const("x"))


def test_only_tables_of_experiments_with_inputs_are_built_in_registration_order():
    reg = TableRegistry()
    reg.register("z.tex", "valence", _const("Z"))
    reg.register("a.tex", "steering", _const("A"))
    reg.register("m.tex", "valence", _const("M"))
    assert reg.build_all(PaperInputs()) == {}
    valence_only = PaperInputs(valence=object())  # type: ignore[arg-type]  # only its presence matters here
    assert reg.build_all(valence_only) == {"z.tex": "Z", "m.tex": "M"}
    assert reg.names("steering") == ("a.tex",) and len(reg) == 3


def test_the_paper_registry_is_unique_and_covers_every_experiment():
    names = TABLES.names()
    assert len(names) == len(set(names)) == len(TABLES)
    assert {e.experiment for e in TABLES} == set(EXPERIMENTS)


def test_every_registered_table_is_written_by_the_paper_stage(tmp_path: Path, monkeypatch) -> None:
    """One run over synthetic outputs of all three experiments (the other paper tests' fixtures)."""
    import helpers.separation_outputs as sep
    import helpers.steering_outputs as steer
    import helpers.valence_outputs as val

    monkeypatch.setenv("EMOVEC_GIT_REVISION", "test")
    s, v = sep.write_separation_outputs(tmp_path / "sep"), val.write_valence_outputs(tmp_path / "val")
    st = steer.write_steering_outputs(tmp_path / "st")
    cfg = yaml.safe_load(s["config"].read_text())
    cfg["valence_cells"] = yaml.safe_load(v["config"].read_text())["valence_cells"]
    cfg["steering"] = steer.RAW_SPEC
    config = tmp_path / "paper.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    inputs = ["--config", str(config), "--separation-dir", str(s["separation"]), "--vectors-dir", str(s["vectors"]),
              "--valence-dir", str(v["valence"]), "--cka-dir", str(v["cka"]), "--steering-dir", str(st["steering"]),
              "--classify-dir", str(st["classify"])]
    assert analyses_main([*inputs, "--out", str(tmp_path / "analyses")]) == 0
    assert main([*inputs, "--analyses-dir", str(tmp_path / "analyses"), "--tables-dir", str(out / "tables"),
                 "--figures-dir", str(out / "figures"), "--processes", "1"]) == 0
    written = sorted(p.name for p in (out / "tables").glob("*.tex"))
    assert written == sorted(TABLES.names())
    assert all("\\end{table}" in (out / "tables" / n).read_text() for n in written)


def test_figure_families_are_unique_and_the_longest_prefix_wins():
    from emovec.report.registry import FigureRegistry

    reg = FigureRegistry()
    reg.register("cka", "valence", "All layers.")
    reg.register("cka_cross", "valence", "Across corpora.")
    assert reg.find("cka_m").caption == "All layers." and reg.find("cka_cross_m").caption == "Across corpora."
    assert reg.find("ckam") is None and reg.find("cka").prefix == "cka"
    for args, fragment in ((("cka", "valence", "x"), "twice"), (("new", "nowhere", "x"), "section"),
                           (("new", "other", "x"), "section"), (("new", "valence", " "), "caption")):
        with pytest.raises(ValueError, match=fragment):
            reg.register(*args)


def test_register_table_returns_the_builder_and_refuses_a_second_registration():
    from emovec.report.registry import TABLES, register_table

    build = _const("x")
    assert register_table("test_only_table.tex", "valence")(build) is build
    try:
        assert TABLES.section_of("test_only_table.tex") == "valence"
        with pytest.raises(ValueError, match="twice"):
            register_table("test_only_table.tex", "valence")(_const("y"))
    finally:
        TABLES._entries.pop("test_only_table.tex")
