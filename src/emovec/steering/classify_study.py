"""the external emotion classifiers read every steered generation (Jeong 2026 §5.2).

A stage of its own, so that changing a classifier (or its label map) re-runs only this, never
the generation. The slice (``build/config/steering/<model>/classify.yaml``) is
``{"model": <name>, "classifiers": [<ClassifierConfig>, ...]}``; every classifier reads every
generation.

Output ``<out>`` (CSV, long form): one row per (classifier, generation), classifiers in the
slice's order, generations in file order within each classifier. Columns
(``emovec.artefacts.CLASSIFY_SCORES``):

* ``id``: the generation id (``generations.jsonl`` / ``measures.csv``);
* ``classifier``: the registry name (``vader``, ``nrc_lexicon``, ``hf_sequence_classifier``, ...);
* ``display_name``: how tables name it (with package versions), checked by the paper stage;
* ``target_label``: the label the generation's emotion maps to under this classifier's map;
* ``p_target``: the score of ``target_label`` (a copy from ``scores``);
* ``n_hits``: lexicon classifiers: tokens the lexicon rated (0 = nothing to read: NRC scores
  all zeros, VADER's compound is 0, toy_lexicon is uniform); empty for model classifiers;
* ``scores``: a JSON object ``{label: score}`` over the classifier's own labels, in its label
  order (classifiers have different label sets, so one column holds them all).

Floats are written with ``repr`` (exact round trip). Every label map is read and every
generation's emotion mapped for every classifier BEFORE any classifier is loaded or run; an
unmapped emotion names the map file, the emotion and the generation row, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from emovec.artefacts.declarations import CLASSIFY_SCORES, csv_text
from emovec.config.schema import ClassifierConfig, as_dataclass
from emovec.errors import EmovecInputError
from emovec.io import read_jsonl, write_text_atomic


def classify(generations: list[dict], cfgs: Sequence[ClassifierConfig], where: str,
             report: dict[str, int] | None = None) -> str:
    """CSV text in the long form of the module docstring.

    ``report``, when given, receives per classifier name the number of generations with no
    lexicon hit (classifiers without ``hits`` are left out).
    """
    from emovec.steering.classifiers import build_classifier, load_target_labels

    if isinstance(cfgs, ClassifierConfig):  # one classifier: a list of one
        cfgs = [cfgs]
    if not cfgs:
        raise EmovecInputError(f"{where}: no classifier to run (the slice's 'classifiers' list is empty)")
    names = [c.name for c in cfgs]
    if len(set(names)) != len(names):
        raise EmovecInputError(f"{where}: a classifier is listed twice: {names}")
    for i, g in enumerate(generations):
        for key in ("id", "emotion", "text"):
            if key not in g:
                raise EmovecInputError(f"{where}: row {i + 1} has no {key!r}")
    emotions = [g["emotion"] for g in generations]
    # Every map and every target first: a bad map or an unmapped emotion stops before any work.
    targets = [load_target_labels(cfg, emotions, where)[1] for cfg in cfgs]
    classifiers = [build_classifier(cfg) for cfg in cfgs]
    texts = [g["text"] for g in generations]
    out_rows: list[dict[str, object]] = []
    for cfg, clf, tgt in zip(cfgs, classifiers, targets, strict=True):
        labels = tuple(clf.labels)
        scores = clf.predict(texts)
        if scores.shape != (len(texts), len(labels)):
            raise EmovecInputError(f"classifier {cfg.name!r} returned scores of shape {scores.shape}; "
                                   f"expected {(len(texts), len(labels))}")
        hits = clf.hits(texts) if hasattr(clf, "hits") else None
        if hits is not None and report is not None:
            report[cfg.name] = int((hits == 0).sum())
        for i, (g, t) in enumerate(zip(generations, tgt, strict=True)):
            row = {lab: float(s) for lab, s in zip(labels, scores[i], strict=True)}
            out_rows.append({"id": g["id"], "classifier": cfg.name, "display_name": clf.display_name,
                             "target_label": t, "p_target": row[t], "n_hits": None if hits is None else int(hits[i]),
                             "scores": json.dumps(row)})
    return csv_text(out_rows, CLASSIFY_SCORES.names, CLASSIFY_SCORES.float_format, where)


def read_classifier_configs(raw: object, where: str) -> list[ClassifierConfig]:
    """The slice's ``classifiers`` list as dataclasses (``where`` names the slice in errors)."""
    node = OmegaConf.to_container(raw) if OmegaConf.is_config(raw) else raw  # type: ignore[arg-type]
    if not isinstance(node, dict) or "classifiers" not in node:
        old = " (it has the old single 'classifier' key: re-run the compose stage)" \
            if isinstance(node, dict) and "classifier" in node else ""
        raise EmovecInputError(f"{where}: no 'classifiers' list{old}")
    entries = node["classifiers"]
    if not isinstance(entries, list) or not entries:
        raise EmovecInputError(f"{where}: 'classifiers' must be a non-empty list")
    return [as_dataclass(e, ClassifierConfig, f"{where}: classifiers[{i}]") for i, e in enumerate(entries)]


def run_classify(config: str | Path, steering: str | Path, out: str | Path) -> None:
    """The steer_classify stage (see the module docstring): inputs and output as the stage's flags name them."""
    raw = OmegaConf.load(config)
    cfgs = read_classifier_configs(raw, str(config))
    path = Path(steering) / "generations.jsonl"
    if not path.is_file():
        raise EmovecInputError(f"{path} does not exist: run the steer stage first")
    generations = read_jsonl(path)
    no_hits: dict[str, int] = {}
    write_text_atomic(out, classify(generations, cfgs, str(path), no_hits))
    extra = "".join(f"; {name}: {k} without a lexicon hit" for name, k in no_hits.items())
    print(f"classified {len(generations)} generations of {raw.model} with {[c.name for c in cfgs]} -> "
          f"{out}{extra}")
