"""Stage: LaTeX tables and figures for the paper, from the tracked separation, vector, valence,
CKA and steering outputs.

Every input is read and validated, and every table and figure rendered in memory, before the
first file is written: a bad input (missing file for a listed cell, missing column, stale
output) leaves the previous tables and figures untouched.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import OmegaConf

from emovec.io import atomic_path, write_json_atomic, write_text_atomic
from emovec.paper.figures import figure_jobs
from emovec.paper.gen_vs_comp import gen_vs_comp_table, load_resampling
from emovec.paper.provenance import add_provenance, git_revision, provenance_line, provenance_record
from emovec.paper.steering import build_steering_tables, load_steering, load_steering_spec
from emovec.paper.render import render_figures
from emovec.paper.steering_figures import steering_figure_jobs
from emovec.paper.tables import build_tables, load_cells, load_paper_spec
from emovec.paper.valence import build_valence_tables, load_cka, load_valence_cells, load_valence_spec
from emovec.paper.valence_figures import valence_figure_jobs
from emovec.stages.common import stage_entry


def _positive_int(text: str) -> int:
    """argparse type for --processes: refused at parse time, before anything is read or written."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


@stage_entry
def main(argv: list[str] | None = None) -> None:
    """CLI entry: ``python -m emovec.stages.paper --config ... --tables-dir ... --figures-dir ...``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="composed paper config (build/config/paper.yaml)")
    ap.add_argument("--separation-dir", required=True, help="directory of <cell>.csv separation outputs")
    ap.add_argument("--vectors-dir", required=True, help="directory of <cell>.npz emotion vectors")
    ap.add_argument("--valence-dir", default="build/valence", help="directory of <cell>/ valence outputs")
    ap.add_argument("--cka-dir", default="build/cka", help="directory of <model>.npz CKA outputs")
    ap.add_argument("--steering-dir", default="build/steering", help="directory of <model>/ steering outputs")
    ap.add_argument("--classify-dir", default="build/steering_classify", help="directory of <model>.csv classifier outputs")
    ap.add_argument("--tables-dir", required=True, help="where the .tex tables are written")
    ap.add_argument("--figures-dir", required=True, help="where the .png figures are written")
    ap.add_argument("--processes", type=_positive_int, default=None,
                    help="worker processes rendering figures (default: every available CPU; the "
                         "bytes are the same for any number)")
    args = ap.parse_args(argv)
    spec = load_paper_spec(args.config)
    paper_cfg: dict = OmegaConf.to_container(OmegaConf.load(args.config))  # type: ignore[assignment]
    cells = load_cells(spec, args.separation_dir, args.vectors_dir)
    tables = build_tables(spec, cells)
    tables["gen_vs_comp.tex"] = gen_vs_comp_table(spec, cells, load_resampling(cells, args.separation_dir))
    figures = figure_jobs(spec, cells)  # rendered below, in parallel, once everything is loaded
    vspec = load_valence_spec(args.config)
    if vspec.cells:
        vcells = load_valence_cells(vspec, args.valence_dir)
        cka = load_cka(vspec, args.cka_dir)
        tables |= build_valence_tables(vspec, vcells)
        figures |= valence_figure_jobs(vspec, vcells, cka)
    sspec = load_steering_spec(paper_cfg.get("steering"), spec.digits, args.config)
    if sspec.models:
        sdata = load_steering(sspec, args.steering_dir, args.classify_dir)
        # RLHF deltas: each model's separation at its reported layer, per extraction method
        separation = {(c.spec.model, c.spec.method): float(c.reported["mean_cosine"]) for c in cells.values()}
        tables |= build_steering_tables(sspec, sdata, separation)
        figures |= steering_figure_jobs(sspec, sdata)
    # Every table states what produced it (git revision, config hash, models, axes).
    record = provenance_record(paper_cfg.get("provenance") or {}, git_revision())
    line = provenance_line(record)
    tables = {name: add_provenance(text, line, name) for name, text in tables.items()}
    rendered = render_figures(figures, args.processes)
    tables_dir, figures_dir = Path(args.tables_dir), Path(args.figures_dir)
    write_json_atomic(tables_dir / "provenance.json", record)
    for name, text in tables.items():
        write_text_atomic(tables_dir / name, text)
    for name, data in rendered.items():
        with atomic_path(figures_dir / name) as tmp:
            tmp.write_bytes(data)
    print(f"paper: {len(tables)} tables -> {tables_dir}, {len(rendered)} figures -> {figures_dir} "
          f"({len(cells)} cells)")


if __name__ == "__main__":
    raise SystemExit(main())
