"""Stage: the external emotion classifier reads every steered generation (Jeong 2026 §5.2).

A stage of its own, so that changing the classifier (or its 20 -> 7 label map) re-runs only
this, never the generation. Writes ``<out>`` (CSV): per generation the classifier's display name,
the target emotion's label under the map, the 7 probabilities and the target's probability.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from omegaconf import OmegaConf

from emovec.config import ClassifierConfig, as_dataclass
from emovec.errors import EmovecInputError
from emovec.io import read_jsonl, write_text_atomic
from emovec.stages.common import stage_entry


def classify(generations: list[dict], cfg: ClassifierConfig, where: str) -> str:
    """CSV text: id, classifier, target_label, p_<label> x 7, p_target."""
    from emovec.steering.classifiers import EKMAN7, build_classifier, read_label_map, resolve_label_map_path, target_label

    map_path = resolve_label_map_path(cfg.label_map)
    label_map = read_label_map(map_path)
    for i, g in enumerate(generations):
        for key in ("id", "emotion", "text"):
            if key not in g:
                raise EmovecInputError(f"{where}: row {i + 1} has no {key!r}")
    targets = [target_label(label_map, g["emotion"], str(map_path)) for g in generations]  # before any work
    clf = build_classifier(cfg)
    probs = clf.predict([g["text"] for g in generations])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "classifier", "target_label", *[f"p_{lab}" for lab in EKMAN7], "p_target"])
    for g, t, p in zip(generations, targets, probs):
        w.writerow([g["id"], clf.display_name, t, *[repr(float(x)) for x in p], repr(float(p[EKMAN7.index(t)]))])
    return buf.getvalue()


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/steering/<model>/classify.yaml")
    ap.add_argument("--steering", required=True, help="build/steering/<model> (the steer stage's output)")
    ap.add_argument("--out", required=True, help="build/steering_classify/<model>.csv")
    args = ap.parse_args(argv)
    raw = OmegaConf.load(args.config)
    cfg: ClassifierConfig = as_dataclass(raw.classifier, ClassifierConfig, args.config)
    path = Path(args.steering) / "generations.jsonl"
    if not path.is_file():
        raise EmovecInputError(f"{path} does not exist: run the steer stage first")
    generations = read_jsonl(path)
    write_text_atomic(args.out, classify(generations, cfg, str(path)))
    print(f"classified {len(generations)} generations of {raw.model} -> {args.out}")


if __name__ == "__main__":
    raise SystemExit(main())
