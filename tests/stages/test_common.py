"""The not-selected note (emovec.stages.common): a cell compose leaves out gets a {selected: false,
reason} slice, and each of its five separation stages writes its outputs as notes naming the reason,
without importing torch (so a left-out cell costs a process start, not a model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from emovec.stages.common import NOT_SELECTED, not_selected_reason

REASON = "a base model's generation cell: not run"

# Each stage's command line with every output under OUT/ and its slice at CFG.
STAGE_ARGS = {
    "stimuli": ["--out", "OUT/s.jsonl", "--summary", "OUT/s.summary.json"],
    "extract": ["--stimuli", "OUT/missing.jsonl", "--model-card", "OUT/missing.json", "--out", "OUT/activations"],
    "vectors": ["--activations", "OUT/missing", "--out", "OUT/v.npz"],
    "separation": ["--activations", "OUT/missing", "--out", "OUT/sep.csv"],
    "resampling": ["--activations", "OUT/missing", "--out", "OUT/sep.resampling.json"],
}
FILE_OUTPUTS = ["s.jsonl", "s.summary.json", "v.npz", "sep.csv", "sep.resampling.json"]


def test_every_separation_stage_writes_notes_for_a_cell_not_run_and_imports_no_torch(tmp_path: Path):
    cfg = tmp_path / "slice.yaml"
    cfg.write_text(yaml.safe_dump({"selected": False, "reason": REASON}))
    out = tmp_path / "out"
    out.mkdir()
    calls = [(stage, ["--config", str(cfg), *(a.replace("OUT", str(out)) for a in args)])
             for stage, args in STAGE_ARGS.items()]
    script = ("import importlib, json, sys\n"
              f"calls = json.loads({json.dumps(json.dumps(calls))})\n"
              "codes = [importlib.import_module('emovec.stages.' + s).main(a) for s, a in calls]\n"
              "print(json.dumps({'codes': codes, 'torch': 'torch' in sys.modules}))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0] * 5, "torch": False}, run.stderr
    for name in FILE_OUTPUTS:
        assert (out / name).read_text(encoding="utf-8") == f"{NOT_SELECTED}: {REASON}\n"
    assert sorted(p.name for p in (out / "activations").iterdir()) == [NOT_SELECTED]
    assert (out / "activations" / NOT_SELECTED).read_text(encoding="utf-8") == REASON + "\n"
    # Nothing else was written (no temp files left by the atomic writes).
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILE_OUTPUTS, "activations"])


def test_not_selected_reason_reads_only_a_not_selected_slice(tmp_path: Path):
    path = tmp_path / "slice.yaml"
    assert not_selected_reason(path) is None  # missing: the stage's own reader names it
    path.write_text(yaml.safe_dump({"model": {"name": "m"}, "seed": 0}))
    assert not_selected_reason(path) is None
    path.write_text(yaml.safe_dump({"selected": True, "reason": REASON}))
    assert not_selected_reason(path) is None
    path.write_text(yaml.safe_dump({"selected": False, "reason": REASON}))
    assert not_selected_reason(path) == REASON
