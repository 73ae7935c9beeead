"""Steering scenarios: a prompt, the emotion to steer toward, and a signed protocol strength.

Jeong (2026) §3.4 runs six scenarios per model: five (prompt, emotion, strength) triples and a
strength sweep. Here every scenario is run at every strength of the sweep (so the sixth, the
sweep of scenario 1, is contained in the grid), plus its own protocol strength. A negative
strength (calm -> anti-calm) steers *away* from the emotion: ``direction`` is -1 and every
"toward the target" comparison flips sign. Readers are registered by format name.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emovec.errors import EmovecInputError
from emovec.registry import Registry


@dataclass(frozen=True)
class Scenario:
    """One steering scenario. ``strength`` is the signed protocol strength (Jeong's Table 4
    column); ``induction_prompt`` is the prompt-level control (None: built from a template)."""

    index: int
    name: str
    prompt: str
    emotion: str
    strength: float
    induction_prompt: str | None = None

    @property
    def direction(self) -> int:
        """+1: steer toward the emotion; -1: away from it (anti-steering)."""
        return 1 if self.strength > 0 else -1


SCENARIO_READERS: Registry[Callable[[Path], list[dict[str, Any]]]] = Registry("scenario format")
register_scenario_reader = SCENARIO_READERS.register  # decorator: @register_scenario_reader("name")


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise EmovecInputError(f"scenario file {path} does not exist (upstream files come through the data "
                               "manifest: run `make data` with UPSTREAM_ROOT set)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EmovecInputError(f"{path}: not valid JSON ({exc})") from None


@register_scenario_reader("project_json")
def read_project_json(path: Path) -> list[dict[str, Any]]:
    """``{"scenarios": [{name, prompt, emotion, strength, induction_prompt?}, ...]}``."""
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise EmovecInputError(f"{path}: expected an object with a 'scenarios' list")
    return data["scenarios"]


@register_scenario_reader("jeong_protocol")
def read_jeong_protocol(path: Path) -> list[dict[str, Any]]:
    """Jeong's ``steering_scenarios_gpt2_report`` (protocol_stimuli.json): tests with one
    ``strength`` are scenarios; the test with ``strengths`` is the sweep, which must repeat an
    existing scenario's prompt and emotion (it does: calm on the aggressive prompt) and is then
    covered by running the configured sweep for every scenario."""
    data = _load_json(path)
    tests = data.get("steering_scenarios_gpt2_report") if isinstance(data, dict) else None
    if not isinstance(tests, list):
        raise EmovecInputError(f"{path}: no 'steering_scenarios_gpt2_report' list")
    single = [t for t in tests if isinstance(t, dict) and "strength" in t]
    for t in tests:
        if isinstance(t, dict) and "strengths" in t:
            if not any(s.get("prompt") == t.get("prompt") and s.get("emotion") == t.get("emotion") for s in single):
                raise EmovecInputError(f"{path}: sweep test {t.get('name')!r} does not repeat a scenario's prompt "
                                       "and emotion; it cannot be folded into the per-scenario sweep")
    return [{"name": t.get("name"), "prompt": t.get("prompt"), "emotion": t.get("emotion"),
             "strength": t.get("strength")} for t in single]


def load_scenarios(path: str | Path, fmt: str, emotions: Sequence[str], only: Sequence[str] | None = None) -> list[Scenario]:
    """Read and check scenarios; ``only`` keeps the named ones (in file order). Errors name the
    file and the scenario (by position and name)."""
    path = Path(path)
    if fmt not in SCENARIO_READERS:
        raise EmovecInputError(f"unknown scenario format {fmt!r}; known: {sorted(SCENARIO_READERS)}")
    raw = SCENARIO_READERS[fmt](path)
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, r in enumerate(raw):
        where = f"{path}: scenario {i + 1}"
        if not isinstance(r, dict):
            raise EmovecInputError(f"{where}: expected an object, got {type(r).__name__}")
        name, prompt, emotion, strength = r.get("name"), r.get("prompt"), r.get("emotion"), r.get("strength")
        if not isinstance(name, str) or not name.strip():
            raise EmovecInputError(f"{where}: 'name' must be a non-empty string")
        where = f"{where} ({name})"
        if name in seen:
            raise EmovecInputError(f"{where}: duplicate scenario name")
        seen.add(name)
        if not isinstance(prompt, str) or not prompt.strip():
            raise EmovecInputError(f"{where}: 'prompt' must be a non-empty string")
        if emotion not in emotions:
            raise EmovecInputError(f"{where}: unknown emotion {emotion!r}; the emotion set has {list(emotions)}")
        if isinstance(strength, bool) or not isinstance(strength, numbers.Real) or not math.isfinite(strength) \
                or strength == 0:
            raise EmovecInputError(f"{where}: 'strength' must be a non-zero number, got {strength!r}")
        induction = r.get("induction_prompt")
        if induction is not None and (not isinstance(induction, str) or not induction.strip()):
            raise EmovecInputError(f"{where}: 'induction_prompt' must be a non-empty string when given")
        out.append(Scenario(index=i, name=name, prompt=prompt, emotion=str(emotion), strength=float(strength),
                            induction_prompt=induction))
    if not out:
        raise EmovecInputError(f"{path}: no scenarios")
    if only is not None:
        unknown = [n for n in only if n not in seen]
        if unknown:
            raise EmovecInputError(f"steering.scenarios names unknown scenario(s) {unknown}; {path} has "
                                   f"{[s.name for s in out]}")
        out = [s for s in out if s.name in set(only)]
    return out


def induction_prompt(scenario: Scenario, template: str, template_negative: str) -> str:
    """The prompt-level control: the scenario's own induction prompt, else the template
    (``{emotion}``, ``{prompt}``), the negative one for anti-steering scenarios."""
    if scenario.induction_prompt is not None:
        return scenario.induction_prompt
    tpl = template if scenario.direction > 0 else template_negative
    for key in ("{emotion}", "{prompt}"):
        if key not in tpl:
            raise EmovecInputError(f"steering induction template {tpl!r} lacks {key}")
    return tpl.replace("{emotion}", scenario.emotion).replace("{prompt}", scenario.prompt)
