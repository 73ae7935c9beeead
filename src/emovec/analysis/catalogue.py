"""The analyses stage: the statistics the paper's tables report, computed once and tracked.

A reviewer checks a statistic in a tracked file, not inside the code that draws a table: the
``analyses`` stage runs every registered analysis on the paper's validated inputs and writes one
JSON file per analysis to ``build/analyses/`` (a DVC output, so ``make verify`` hashes it and
regenerates it byte for byte); the paper stage reads them back (:func:`read_analyses`) and only
formats. Each file states its unit of analysis, n, CI method and correction beside the numbers.

Registered analyses (:data:`ANALYSES`), each (experiment, compute, to_json, from_json):

- ``gen_vs_comp`` (separation): Jeong's LOO procedure beside the corrected per-emotion paired
  comparison, BH across models, bootstrap CI, Cohen's d with CI, sign test over models
  (:mod:`emovec.analysis.gen_vs_comp`).
- steering (:mod:`emovec.analysis.catalogue_steering`, records in
  :mod:`emovec.analysis.steering_records`): ``regime_stats`` (perplexity at the low and high
  strength, ratio, distinct-2, repeats, regime per model), ``rlhf_steering`` (base/instruct
  separation and steering sensitivity), ``agreement_counts`` (classifier agreement k/n with
  Clopper-Pearson CIs, pooled and per model), ``no_hit_count``, ``script_leakage``,
  ``protocol_deltas`` (target-projection change per model x scenario at the protocol strength,
  and the scenarios' union), ``steering_ppl`` and ``classifier_scores`` (per strength, for the
  claims ledger), ``dose_response`` (the points of the dose-response figures,
  :mod:`emovec.analysis.dose_response`).

Floats are written with ``repr`` (json), so a value read back is the value computed, bit for bit
(NaN as ``NaN``); every file is ``json.dumps(..., indent=1, sort_keys=True)``. A steering analysis
read back must cover exactly the run's steered models (else the file is stale and named).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emovec.analysis.catalogue_steering import STEERING_ANALYSES, steering_models
from emovec.analysis.gen_vs_comp import GenVsComp, MethodComparison, compare_models
from emovec.analysis.json_records import decode, encode
from emovec.errors import EmovecInputError
from emovec.io import atomic_path
from emovec.readers.paper_inputs import EXPERIMENTS, PaperInputs, load_paper_inputs

__all__ = ["ANALYSES", "Analysis", "analysis_file_text", "compute_analyses", "read_analyses", "read_analysis",
           "run_analyses", "with_analyses", "write_analyses"]


@dataclass(frozen=True)
class Analysis:
    """One registered analysis: the experiment whose inputs it reads, how it is computed from the
    validated inputs, and how its result is written to and read back from JSON. ``about`` says
    what the numbers are (unit of analysis, n, CI method, correction); it is written beside them.
    ``models``, when set, gives the models the result must cover (its ``models`` attribute) for
    the run's inputs: a file computed for another selection is refused by name."""

    experiment: str
    compute: Callable[[PaperInputs], Any]
    to_json: Callable[[Any], dict[str, Any]]
    from_json: Callable[[dict[str, Any]], Any]
    about: str
    models: Callable[[PaperInputs], tuple[str, ...]] | None = None


def _gen_vs_comp(inputs: PaperInputs) -> GenVsComp:
    sep = inputs.separation
    assert sep is not None
    return compare_models(sep.cells, sep.resampling)


def _gen_vs_comp_from_json(node: dict[str, Any]) -> GenVsComp:
    tuples = ("loo_gen", "loo_comp", "diff_ci", "d_ci")
    comps = tuple(MethodComparison(**{k: tuple(v) if k in tuples else v for k, v in c.items()})
                  for c in node["comparisons"])
    return GenVsComp(comparisons=comps, wilcoxon_p_bh=tuple(node["wilcoxon_p_bh"]), n_gen_better=node["n_gen_better"],
                     sign_p=node["sign_p"], level=node["level"])


ANALYSES: dict[str, Analysis] = {
    "gen_vs_comp": Analysis(
        experiment="separation", compute=_gen_vs_comp, to_json=dataclasses.asdict, from_json=_gen_vs_comp_from_json,
        about=("generation minus comprehension per model at its reported layer. Jeong's procedure: LOO replicates "
               "(not independent; d_loo is (n-1) times the per-item d), Mann-Whitney U. Corrected: unit = emotions "
               "(n_emotions, paired by emotion), Wilcoxon signed-rank p, BH-adjusted across the models "
               "(wilcoxon_p_bh); diff_ci: stimulus-level bootstrap within emotion, bias-corrected percentile "
               "(n_boot draws); d / d_ci: pooled-SD Cohen's d of the per-emotion values, normal-theory CI "
               "(pingouin); sign test over models (unit = models, no correction). CI level: level."),
    ),
    **{name: Analysis(experiment="steering", compute=compute, to_json=encode,
                      from_json=functools.partial(decode, cls), about=about, models=steering_models)
       for name, (compute, cls, about) in STEERING_ANALYSES.items()},
}
assert all(a.experiment in EXPERIMENTS for a in ANALYSES.values())


def compute_analyses(inputs: PaperInputs) -> dict[str, Any]:
    """{name: result} of every registered analysis whose experiment has inputs in this run."""
    return {name: a.compute(inputs) for name, a in ANALYSES.items() if inputs.has(a.experiment)}


def with_analyses(inputs: PaperInputs) -> PaperInputs:
    """``inputs`` with its analyses computed in memory (what the paper stage reads from disk)."""
    return dataclasses.replace(inputs, analyses=compute_analyses(inputs))


def analysis_file_text(name: str, result: Any) -> str:
    """The text of ``<name>.json``: the analysis name, its ``about`` and the result (sorted keys)."""
    node = {"analysis": name, "about": ANALYSES[name].about, "result": ANALYSES[name].to_json(result)}
    return json.dumps(node, indent=1, sort_keys=True) + "\n"


def write_analyses(results: dict[str, Any], out: str | Path) -> None:
    """Write ``out/<name>.json`` for every result (one directory, replaced atomically)."""
    with atomic_path(Path(out)) as tmp:
        tmp.mkdir()
        for name, result in results.items():
            (tmp / f"{name}.json").write_text(analysis_file_text(name, result), encoding="utf-8")


def run_analyses(config: str | Path, separation_dir: str | Path, vectors_dir: str | Path, valence_dir: str | Path,
                 cka_dir: str | Path, steering_dir: str | Path, classify_dir: str | Path, out: str | Path,
                 steering_check_dir: str | Path | None = None) -> str:
    """The analyses stage: read and check the paper's inputs (the steering check's from
    ``steering_check_dir``), compute every analysis, write ``out/<name>.json`` (one directory,
    atomically). Returns a one-line summary."""
    inputs = load_paper_inputs(config, separation_dir, vectors_dir, valence_dir, cka_dir, steering_dir, classify_dir,
                               steering_check_dir)
    results = compute_analyses(inputs)
    write_analyses(results, out)
    return f"analyses: {', '.join(results) or 'none'} -> {out}"


def read_analyses(directory: str | Path, inputs: PaperInputs) -> PaperInputs:
    """``inputs`` with the analyses the run needs read from ``directory`` (the analyses stage's
    output). A missing or stale file is an error naming it: the paper never computes them."""
    results: dict[str, Any] = {}
    for name, analysis in ANALYSES.items():
        if not inputs.has(analysis.experiment):
            continue
        results[name] = read_analysis(directory, name)
        if analysis.models is not None:
            have, want = results[name].models, analysis.models(inputs)
            if have != want:
                raise EmovecInputError(f"{Path(directory) / f'{name}.json'}: covers models {list(have)} but this run "
                                       f"steered {list(want)}; re-run the analyses stage")
    return dataclasses.replace(inputs, analyses=results)


def read_analysis(directory: str | Path, name: str) -> Any:
    """The result of analysis ``name`` read from ``directory/<name>.json``. A missing file, or one
    of another analysis or shape, is an error naming it."""
    analysis = ANALYSES[name]
    path = Path(directory) / f"{name}.json"
    if not path.is_file():
        raise EmovecInputError(f"{path} does not exist: run the analyses stage (dvc repro analyses)")
    try:
        node = json.loads(path.read_text(encoding="utf-8"))
        if node.get("analysis") != name:
            raise EmovecInputError(f"{path}: holds analysis {node.get('analysis')!r}, expected {name!r}")
        return analysis.from_json(node["result"])
    except EmovecInputError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EmovecInputError(f"{path}: not a {name} analysis written by this version ({exc}); "
                               "re-run the analyses stage") from None
