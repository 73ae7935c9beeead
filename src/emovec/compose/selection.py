"""The run selection and everything the compose stage writes from it.

The selection (``conf/selection.yaml``, or one under ``conf/selections/``) names the experiment,
the models, the comprehension/generation corpora, the story corpora, the corpus whose vectors
steer each model and the Hydra overrides (selection-wide and per cell). :func:`read_selection`
reads and checks it; :func:`compose_all` composes every selected cell and writes, under one
output directory (``build/config``):

- ``cells/<model>__<corpus>/<stage>.yaml``: per cell, a slice of the resolved config for each
  downstream stage (stimuli, extract, vectors, separation; extract and valence for story cells);
  a cell the selection lists but does not run (a base model's generation cell unless
  ``base_model_generation: true``; Jeong 2026 §7.2) gets ``{selected: false, reason}`` slices,
  its stages write NOT_SELECTED notes, and ``paper.yaml`` lists it under ``not_run``;
- ``stories/<corpus>.yaml``: one slice per story corpus (every model reads the same corpus);
- ``steering/<model>/{steer,classify}.yaml``: the steering study's slices per steered model;
- ``models/<model>.yaml``, ``toy.yaml`` and ``toys/*.yaml`` (which toy stages train);
- ``cka.yaml`` and ``paper.yaml`` (the cells the paper reports, and their provenance);
- ``resolved/<cell>.yaml``: each whole cell, for humans (no stage reads it).

``dvc repro`` does not compose Hydra configs itself, and edits under conf/ are invisible to DVC
unless conf/ is a dependency. So the compose stage depends on conf/ and a stage depends only on
its own slice: an edit re-runs exactly the stages whose slice changed (DVC compares content
hashes), and everything else is skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.artefacts.declarations import cell_name
from emovec.compose.cells import compose_cell
from emovec.compose.paper_entries import (
    generator_name,
    model_families,
    paper_cell_entry,
    provenance_entry,
    steering_check_entry,
    steering_paper_entry,
    valence_cell_entry,
)
from emovec.config.schema import VALENCE_EXPERIMENT, CellConfig, effective_mean_offset, resolve_layer, to_yaml
from emovec.errors import EmovecInputError
from emovec.io import atomic_path
from emovec.paths import CONF_DIR

# The toy models: their model configs are always written (the toy stages read them), and each
# is trained only when the selection needs it (see needed_toys).
TOY_MODELS: tuple[str, ...] = ("toy-base", "toy-instruct")


def read_selection(path: Path) -> dict[str, Any]:
    """The tracked run selection: experiment, models, corpora, overrides."""
    if not path.is_file():
        raise EmovecInputError(f"selection file {path} does not exist")
    sel = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    allowed = {"experiment", "models", "corpora", "story_corpora", "steering_vectors", "steering_check", "overrides",
               "cell_overrides", "base_model_generation"}
    unknown = sorted(set(sel) - allowed)  # type: ignore[arg-type]
    if unknown:
        raise EmovecInputError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    for key in ("experiment", "models", "corpora"):
        if key not in sel:  # type: ignore[operator]
            raise EmovecInputError(f"{path}: missing key {key!r}")
    if not sel["models"] or not sel["corpora"]:  # type: ignore[index]
        raise EmovecInputError(f"{path}: models and corpora must be non-empty lists")
    sel.setdefault("overrides", [])  # type: ignore[union-attr]
    sel.setdefault("story_corpora", [])  # type: ignore[union-attr]
    sel.setdefault("cell_overrides", {})  # type: ignore[union-attr]
    sel.setdefault("base_model_generation", False)  # type: ignore[union-attr]
    if not isinstance(sel["base_model_generation"], bool):  # type: ignore[index]
        raise EmovecInputError(f"{path}: base_model_generation must be true or false; "
                               f"got {sel['base_model_generation']!r}")  # type: ignore[index]
    sv = sel.setdefault("steering_vectors", {})  # type: ignore[union-attr]
    corpora = [*sel["corpora"], *sel["story_corpora"]]  # type: ignore[index]
    if not isinstance(sv, dict):
        raise EmovecInputError(f"{path}: steering_vectors must map each steered model to the selected corpus whose "
                               f"vectors steer it (the cell <model>__<corpus>), e.g. {{{sel['models'][0]}: "  # type: ignore[index]
                               f"{corpora[0]}}}; got {sv!r}")
    for model, corpus in sv.items():
        if model not in sel["models"]:  # type: ignore[index]
            raise EmovecInputError(f"{path}: steering_vectors names model {model!r}, which is not in models "
                                   f"{sel['models']}")  # type: ignore[index]
        if corpus not in corpora:
            raise EmovecInputError(f"{path}: steering_vectors must name a selected corpus (the cell <model>__<corpus> "
                                   f"whose vectors steer each model); got {corpus!r} for {model!r}, selected: {corpora}")
    cells = {cell_name(m, c) for m in sel["models"] for c in [*sel["corpora"], *sel["story_corpora"]]}  # type: ignore[index]
    unknown_cells = sorted(set(sel["cell_overrides"]) - cells)  # type: ignore[index]
    if unknown_cells:
        raise EmovecInputError(f"{path}: cell_overrides names cells that are not selected: {unknown_cells}; "
                               f"cells are <model>__<corpus>, e.g. {sorted(cells)[0]}")
    sel["steering_check"] = read_steering_check(sel.get("steering_check"), path)  # type: ignore[index]
    return sel  # type: ignore[return-value]


def read_steering_check(node: Any, path: Path) -> dict[str, Any] | None:
    """The selection's ``steering_check``: the steering study run once more for every steered
    model with ``overrides`` (Hydra overrides of ``steering.*`` only: the vectors, model and cell
    stay those of the main run) on top, under a ``label`` for tables. None when absent."""
    if node is None:
        return None
    if not isinstance(node, dict) or set(node) != {"label", "overrides"}:
        got = sorted(node) if isinstance(node, dict) else repr(node)
        raise EmovecInputError(f"{path}: steering_check must hold exactly label and overrides; got {got}")
    label, overrides = node["label"], node["overrides"]
    if not isinstance(label, str) or not label.strip():
        raise EmovecInputError(f"{path}: steering_check.label must be a non-empty string; got {label!r}")
    if not isinstance(overrides, list) or not overrides or not all(isinstance(o, str) for o in overrides):
        raise EmovecInputError(f"{path}: steering_check.overrides must be a non-empty list of Hydra overrides; "
                               f"got {overrides!r}")
    for o in overrides:
        key = o.lstrip("+~").split("=", 1)[0]
        if not key.startswith("steering."):
            raise EmovecInputError(f"{path}: steering_check.overrides may change steering.* only (the check steers "
                                   f"with the main run's vectors); {o!r} sets {key!r}")
    return {"label": label, "overrides": list(overrides)}


# Why compose leaves a base model's generation cell out (Jeong 2026 §7.2), in the words every
# caption and not-selected note repeats.
BASE_GENERATION_REASON = ("a base model's generation cell: Jeong 2026 Sec. 7.2 extracts generation-based vectors "
                          "from instruct models only; base_model_generation: true in the selection runs it")


def not_run_reason(cell: CellConfig, selection: dict[str, Any]) -> str | None:
    """Why a selected separation cell is not run, or None when it runs: a base model's
    generation cell runs only when the selection sets ``base_model_generation: true``."""
    base_generation = cell.model.variant == "base" and cell.corpus.kind == "generation"
    if base_generation and not selection.get("base_model_generation", False):
        return BASE_GENERATION_REASON
    return None


def upstream_sha256(rel_path: str, manifest: Path = CONF_DIR / "data" / "upstream.yaml") -> str:
    """The pinned sha256 of an upstream input under data/ (from the git-tracked manifest).

    Stimuli stages do not depend on data/ itself (a DVC-tracked, possibly partial directory);
    instead the pinned hash goes into their config slice and the stage verifies the file against
    it. Upstream files are immutable, so the hash stands for the content."""
    from emovec.corpora.upstream_files import load_manifest

    rel = rel_path.removeprefix("data/")
    for entry in load_manifest(manifest):
        if entry.path == rel:
            return entry.sha256
    raise EmovecInputError(f"{rel_path} is not listed in {manifest}; upstream corpora must come through the manifest")


# What the steer_check stage's note says when the selection has no steering_check.
NO_STEERING_CHECK_REASON = "the selection has no steering_check"

# The per-cell stages of the separation study, each reading build/config/cells/<cell>/<stage>.yaml.
SEPARATION_STAGES: tuple[str, ...] = ("stimuli", "extract", "vectors", "separation", "resampling")


def slices(cell: CellConfig) -> dict[str, dict[str, Any]]:
    """What each per-cell stage needs, and nothing more (so unrelated edits never re-run it)."""
    full = asdict(cell)
    model, corpus = full["model"], full["corpus"]
    corpus_for_stimuli = {k: v for k, v in corpus.items() if k != "pooling"}
    if cell.corpus.source == "upstream":
        corpus_for_stimuli["input_sha256"] = upstream_sha256(cell.corpus.path or "")
    layer = resolve_layer(cell.vectors.layer, cell.model.n_layers)
    sep = full["separation"]
    return {
        "stimuli": {"model": model, "corpus": corpus_for_stimuli, "seed": cell.seed},
        "extract": {"model": model, "corpus_kind": corpus["kind"], "extraction": full["extraction"]},
        "vectors": {"emotion_set": corpus["emotion_set"], "pooling": corpus["pooling"], "vectors": full["vectors"]},
        "separation": {"emotion_set": corpus["emotion_set"], "pooling": corpus["pooling"], "vectors": full["vectors"],
                       "separation": {"n_permutations": sep["n_permutations"], "seed": sep["seed"]}, "layer": layer},
        "resampling": {"emotion_set": corpus["emotion_set"], "pooling": corpus["pooling"], "vectors": full["vectors"],
                       "separation": {"n_boot": sep["n_boot"], "seed": sep["seed"]}, "layer": layer},
    }


def upstream_inputs(cell: CellConfig) -> dict[str, str]:
    """Pinned sha256 of every upstream file a story corpus or a norm source reads."""
    from emovec.corpora.norms import NORM_SOURCES

    c, s = cell.corpus, cell.corpus.stories
    paths = []
    if c.source in ("upstream", "generated") and c.path and c.path.startswith("data/"):
        paths.append(c.path)
    paths += [p for p in (s.topics_path, s.neutral_path) if p]
    for name in (cell.valence.norms, cell.valence.norms_fallback):
        src = NORM_SOURCES.get(name) if name else None
        if src is not None and src.origin == "upstream":
            paths.append("data/" + src.rel_path)
    return {p: upstream_sha256(p) for p in sorted(set(paths))}


def story_slices(cell: CellConfig, generator: CellConfig | None) -> dict[str, dict[str, Any]]:
    """Slices of a valence cell (extract + valence) and of its story corpus (model-independent)."""
    full = asdict(cell)
    extraction = dict(full["extraction"], mean_offset=effective_mean_offset(cell))
    inputs = upstream_inputs(cell)
    corpus = {k: v for k, v in full["corpus"].items() if k not in ("pooling", "mean_offset")}
    norm_inputs = {p: h for p, h in inputs.items() if p not in (cell.corpus.path, cell.corpus.stories.topics_path,
                                                                 cell.corpus.stories.neutral_path)}
    return {
        "story_corpus": {"corpus": corpus, "generator_model": asdict(generator.model) if generator else None,
                         "input_sha256": {p: h for p, h in inputs.items() if p not in norm_inputs}},
        "extract": {"model": full["model"], "corpus_kind": "stories", "extraction": extraction},
        "valence": {"cell": cell_name(cell.model.name, cell.corpus.name), "model": cell.model.name,
                    "corpus": cell.corpus.name, "generator": generator_name(cell),
                    "emotion_set": cell.corpus.emotion_set, "pooling": cell.corpus.pooling,
                    "mean_offset": effective_mean_offset(cell), "vectors": full["vectors"],
                    "valence": full["valence"], "norms_sha256": norm_inputs},
    }


def steering_slices(cell: CellConfig, scorer: CellConfig | None) -> dict[str, dict[str, Any]]:
    """The steer and classify slices of one model, from its vectors cell (whose config, including
    any cell override, decides both the vectors and the steering choices)."""
    st = asdict(cell.steering)
    generation = {k: v for k, v in st.items() if k not in ("classifiers", "regimes", "ci_level")}
    sha = upstream_sha256(cell.steering.scenario_path) if cell.steering.scenario_source == "upstream" else None
    return {
        "steer": {"model": asdict(cell.model), "steering": generation,
                  "vectors_from": {"cell": cell_name(cell.model.name, cell.corpus.name), "corpus": cell.corpus.name,
                                   "emotion_set": cell.corpus.emotion_set, "pooling": cell.corpus.pooling,
                                   "vectors": asdict(cell.vectors)},
                  "scorer": asdict(scorer.model) if scorer is not None else None, "scenario_sha256": sha},
        "classify": {"model": cell.model.name, "classifiers": st["classifiers"]},
    }


def needed_toys(cells: list[CellConfig], toy_cells: dict[str, CellConfig]) -> dict[str, bool]:
    """Which toy models the selection needs trained: those read or written by a selected cell,
    and the toys they continue from. A real-model selection trains no toy."""
    needed = {c.model.name for c in cells if c.model.toy is not None}
    frontier = list(needed)
    while frontier:
        spec = toy_cells[frontier.pop()].model
        parent = spec.toy.init_from if spec.toy else None
        if parent and parent not in needed:
            if parent not in toy_cells:
                raise EmovecInputError(f"toy model {spec.name!r} continues from {parent!r}, which is not a toy model "
                                       f"({sorted(toy_cells)})")
            needed.add(parent)
            frontier.append(parent)
    return {name: name in needed for name in toy_cells}


def config_digest(root: Path) -> str:
    """sha256 over every composed file under ``root`` (relative path and bytes, sorted)."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def compose_all(selection: dict[str, Any], out_dir: Path, conf_dir: Path = CONF_DIR,
                require_steering: str | None = None) -> None:
    """Compose every cell first (so any error comes before anything is written), then write.

    ``require_steering`` (the selection's path, for the message): refuse a selection that steers
    no model, as the DVC pipeline does (its steer stages iterate over steering_vectors and the
    paper stage reads their outputs)."""
    def overrides_for(m: str, c: str) -> list[str]:
        # Selection-wide overrides, then the cell's own (so one cell can be changed alone).
        return [*selection["overrides"], *selection.get("cell_overrides", {}).get(cell_name(m, c), [])]

    composed: dict[tuple[str, str, str, tuple[str, ...]], CellConfig] = {}

    def composed_cell(m: str, c: str, experiment: str, overrides: list[str], conf_dir: Path) -> CellConfig:
        # The toy, story-generator and scorer cells often repeat a cell composed already, and
        # Hydra costs ~0.1 s a call: compose each distinct request once.
        key = (m, c, experiment, tuple(overrides))
        if key not in composed:
            composed[key] = compose_cell(m, c, experiment, overrides, conf_dir)
        return composed[key]

    selected = [composed_cell(m, c, selection["experiment"], overrides_for(m, c), conf_dir)
                for m in selection["models"] for c in selection["corpora"]]
    # Cells the selection lists but does not run: their stages still exist in dvc.yaml (a matrix
    # of models x corpora), so each gets a {selected: false, reason} slice and writes a note.
    not_run = {cell_name(c.model.name, c.corpus.name): reason for c in selected
               if (reason := not_run_reason(c, selection)) is not None}
    cells = [c for c in selected if cell_name(c.model.name, c.corpus.name) not in not_run]
    if not cells:
        raise EmovecInputError(f"every separation cell of the selection is left out ({sorted(not_run)}): "
                               f"{BASE_GENERATION_REASON}; add a comprehension corpus or an instruct model")
    toy_cells = {m: composed_cell(m, selection["corpora"][0], selection["experiment"],
                                 list(selection["overrides"]), conf_dir) for m in TOY_MODELS}
    overrides = list(selection["overrides"])
    story_cells = [composed_cell(m, c, VALENCE_EXPERIMENT, overrides_for(m, c), conf_dir)
                   for m in selection["models"] for c in selection.get("story_corpora", [])]
    for cell in story_cells:
        if cell.corpus.kind != "stories":
            raise EmovecInputError(f"story_corpora lists {cell.corpus.name!r}, whose kind is "
                                   f"{cell.corpus.kind!r}; the valence study reads kind: stories corpora")
    for cell in cells:
        if cell.corpus.kind == "stories":
            raise EmovecInputError(f"corpora lists the story corpus {cell.corpus.name!r}; put it under story_corpora")
    generators: dict[str, CellConfig | None] = {}
    for cell in story_cells:
        gen = cell.corpus.stories.generator if cell.corpus.source == "generated" else None
        if gen is not None and gen not in selection["models"]:
            raise EmovecInputError(f"story corpus {cell.corpus.name!r} is written by model {gen!r}, which is not in "
                                   f"the selection's models {selection['models']}: add it (its model@ stage provides "
                                   "the weights the story_corpus stage loads)")
        if cell.corpus.name not in generators:
            generators[cell.corpus.name] = (composed_cell(gen, cell.corpus.name, VALENCE_EXPERIMENT, overrides, conf_dir)
                                            if gen else None)
    # The steering study runs when the selection names the corpus whose vectors steer (the
    # tracked selection does: dvc.yaml's steer stages read it).
    sv = selection.get("steering_vectors") or {}
    if require_steering and not sv:
        raise EmovecInputError(f"{require_steering}: steering_vectors is empty; the pipeline steers at least one model "
                               f"(map it to a selected corpus, e.g. {{{selection['models'][0]}: "
                               f"{selection['corpora'][0]}}})")
    for m, c in sv.items():
        if cell_name(m, c) in not_run:
            raise EmovecInputError(f"steering_vectors steers {m!r} with the vectors of cell {cell_name(m, c)}, which "
                                   f"is not run ({not_run[cell_name(m, c)]})")
    steering_cells = [next(c for c in [*cells, *story_cells] if c.model.name == m and c.corpus.name == sv[m])
                      for m in selection["models"] if m in sv]
    scorers = {c.model.name: (composed_cell(c.steering.scoring_model, selection["corpora"][0], selection["experiment"],
                                           overrides, conf_dir) if c.steering.scoring_model != "self" else None)
               for c in steering_cells}
    # The steering check: the same cells composed once more with the check's overrides last.
    check = selection.get("steering_check")
    check_cells = {c.model.name: composed_cell(c.model.name, c.corpus.name, selection["experiment"] if c in cells
                                               else VALENCE_EXPERIMENT,
                                               [*overrides_for(c.model.name, c.corpus.name), *check["overrides"]],
                                               conf_dir)
                   for c in steering_cells} if check else {}
    models = {c.model.name: c.model for c in selected} | {m: c.model for m, c in toy_cells.items()}
    toys_selected = needed_toys([*cells, *story_cells, *(g for g in generators.values() if g)], toy_cells)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        first = cells[0]
        (tmp / "toy.yaml").write_text(to_yaml(first.toy))
        # One flag file per toy stage: a toy stage trains only when its flag says so, and toggling
        # one toy's flag re-runs that toy's stage alone.
        (tmp / "toys").mkdir()
        for name, selected in toys_selected.items():
            (tmp / "toys" / f"{name}.yaml").write_text(to_yaml({"selected": selected}))
        (tmp / "toys" / "corpus.yaml").write_text(to_yaml({"selected": any(toys_selected.values())}))
        for name, spec in models.items():
            (tmp / "models").mkdir(exist_ok=True)
            (tmp / "models" / f"{name}.yaml").write_text(to_yaml(spec))
        for cell in cells:
            name = cell_name(cell.model.name, cell.corpus.name)
            cdir = tmp / "cells" / name
            cdir.mkdir(parents=True)
            for stage, content in slices(cell).items():
                (cdir / f"{stage}.yaml").write_text(to_yaml(content))
            (tmp / "resolved").mkdir(exist_ok=True)
            (tmp / "resolved" / f"{name}.yaml").write_text(to_yaml(cell))
        for name, reason in not_run.items():
            cdir = tmp / "cells" / name
            cdir.mkdir(parents=True)
            for stage in SEPARATION_STAGES:
                (cdir / f"{stage}.yaml").write_text(to_yaml({"selected": False, "reason": reason}))
        for cell in story_cells:
            name = cell_name(cell.model.name, cell.corpus.name)
            cdir = tmp / "cells" / name
            cdir.mkdir(parents=True)
            for stage, content in story_slices(cell, generators[cell.corpus.name]).items():
                if stage == "story_corpus":
                    # One corpus is read by every model: its content must not differ between cells.
                    (tmp / "stories").mkdir(exist_ok=True)
                    target, text = tmp / "stories" / f"{cell.corpus.name}.yaml", to_yaml(content)
                    if target.exists() and target.read_text() != text:
                        raise EmovecInputError(
                            f"cell {name}: its overrides change story corpus {cell.corpus.name!r}, which every "
                            "model reads; change the corpus config (or define a new corpus) instead")
                    target.write_text(text)
                else:
                    (cdir / f"{stage}.yaml").write_text(to_yaml(content))
            (tmp / "resolved").mkdir(exist_ok=True)
            (tmp / "resolved" / f"{name}.yaml").write_text(to_yaml(cell))
        for cell in steering_cells:
            sdir = tmp / "steering" / cell.model.name
            sdir.mkdir(parents=True)
            for stage, content in steering_slices(cell, scorers[cell.model.name]).items():
                (sdir / f"{stage}.yaml").write_text(to_yaml(content))
            # Always written: the steer_check stage iterates over steering_vectors like steer.
            checked = (steering_slices(check_cells[cell.model.name], scorers[cell.model.name])["steer"]
                       if check else {"selected": False, "reason": NO_STEERING_CHECK_REASON})
            (sdir / "steer_check.yaml").write_text(to_yaml(checked))
        paper = {"digits": first.paper.digits, "experiment": selection["experiment"],
                 "cells": [paper_cell_entry(c) for c in cells],
                 "not_run": [{"cell": name, "reason": reason} for name, reason in not_run.items()],
                 "valence_cells": [valence_cell_entry(c) for c in story_cells],
                 "steering": steering_paper_entry(steering_cells),
                 "steering_check": steering_check_entry(check, list(check_cells.values())),
                 "model_families": model_families(conf_dir)}
        # The CKA stage needs only the valence cells: a separation-only edit must not re-run it.
        (tmp / "cka.yaml").write_text(to_yaml({"valence_cells": paper["valence_cells"]}))
        # Written last: the hash covers every other slice (so any config change shows in it).
        paper["provenance"] = provenance_entry(cells, story_cells, steering_cells, config_digest(tmp))
        (tmp / "paper.yaml").write_text(to_yaml(paper))
