"""The findings ledger: each general claim of the papers as a test fixed in advance, run on every
model of the run, with a verdict per subject.

``paper/findings.yaml`` lists the claims. Each entry: ``id``; ``source`` (``paper``, ``section``);
``claim`` (one sentence); ``statistic`` (a :data:`~emovec.ledgers.finding_statistics.FINDING_STATISTICS`
entry) and its ``args``; the decision ``rule`` and its parameters; optionally ``applies`` (which
subjects the claim is about, by ``variant`` (base | instruct), ``kind`` (model | base_instruct |
cross_model) or ``family`` (a ``family:`` of ``conf/model/*.yaml``, e.g. gemma3)) with ``why`` (the
reason another subject is not applicable; its row names the key it fails). The rules, written before any result is seen:

* ``ci_side`` (``side``: greater | less, ``threshold``, default 0): *supported* when the CI lies
  wholly on the claimed side of the threshold, *contradicted* when wholly on the other side,
  *inconclusive* otherwise.
* ``ci_overlaps`` (``reported``: [low, high], the papers' own range): *consistent* when the CI
  overlaps the reported range, *differs* when it lies wholly outside it.
* ``ci_excludes`` (``threshold``, required): the two-sided "differs" test. *supported* when the CI
  lies wholly above or wholly below the threshold (on either side), *inconclusive* otherwise; never
  *contradicted*: a CI that covers the threshold does not show that there is no difference, only
  that this run cannot tell. A claim of no difference is a ``ci_within`` claim with its margin.
* ``ci_within`` (``margin``: [low, high], required, low < high): the equivalence test ("does not
  differ by more than the margin"). *supported* when the CI lies wholly inside the closed margin
  (low <= CI low and CI high <= high), *contradicted* when it lies wholly outside it (CI high < low
  or CI low > high: the difference is established to exceed the margin), *inconclusive* otherwise
  (the CI straddles a margin bound). The margin is the size of difference that matters, fixed in
  the ledger with the claim, never from the result.

Each rule takes only its own parameters (``side`` and ``threshold`` for ci_side, ``threshold``
for ci_excludes, ``reported`` for ci_overlaps, ``margin`` for ci_within); a parameter of another
rule is refused, as is a rule without its required parameters.

A claim with no subject in the run (no base/instruct pair, no instruct model) gets one row
"not applicable" naming what is missing; an entry naming an unknown statistic or rule, a rule
without its parameters or with another rule's, is an error naming the entry, before anything is
computed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emovec.errors import EmovecInputError
from emovec.geometry.rsa_study import RSASettings
from emovec.ledgers.finding_statistics import FINDING_STATISTICS, Estimate, FindingsContext, Outcome, Subject
from emovec.paths import CONF_DIR

__all__ = ["APPLIES", "RULES", "Finding", "FindingRow", "evaluate_findings", "known_families", "load_findings",
           "load_rsa_settings", "verdict"]

RULES = ("ci_side", "ci_overlaps", "ci_excludes", "ci_within")
# The parameters each rule may take (any other rule's parameter in an entry is an error).
_RULE_PARAMS = {"ci_side": {"side", "threshold"}, "ci_overlaps": {"reported"}, "ci_excludes": {"threshold"},
                "ci_within": {"margin"}}
# applies: key -> its allowed values (family: read from conf/model, see known_families)
APPLIES: dict[str, tuple[str, ...] | None] = {"variant": ("base", "instruct"),
                                              "kind": ("model", "base_instruct", "cross_model"), "family": None}
_KEYS = {"id", "source", "claim", "statistic", "args", "rule", "side", "threshold", "reported", "margin", "applies",
         "why"}


@dataclass(frozen=True)
class Finding:
    """One ledger entry (see the module docstring)."""

    id: str
    paper: str
    section: str
    claim: str
    statistic: str
    rule: str
    args: Mapping[str, Any] = field(default_factory=dict)
    side: str | None = None
    threshold: float = 0.0
    reported: tuple[float, float] | None = None
    margin: tuple[float, float] | None = None
    applies: Mapping[str, str] = field(default_factory=dict)
    why: str = ""

    @property
    def rule_text(self) -> str:
        if self.rule == "ci_side":
            where = "above" if self.side == "greater" else "below"
            return f"supported if the CI lies wholly {where} {self.threshold:g}; contradicted if wholly on the other side"
        if self.rule == "ci_excludes":
            return (f"supported if the CI excludes {self.threshold:g} (wholly above or below); inconclusive "
                    f"otherwise (never contradicted)")
        if self.rule == "ci_within":
            lo, hi = self.margin or (math.nan, math.nan)
            return (f"supported if the CI lies wholly inside the margin [{lo:g}, {hi:g}]; contradicted if wholly "
                    f"outside it; inconclusive otherwise")
        lo, hi = self.reported or (math.nan, math.nan)
        return f"consistent if the CI overlaps the reported [{lo:g}, {hi:g}]; differs if wholly outside"


@dataclass(frozen=True)
class FindingRow:
    """One verdict: a finding on one subject (``estimate`` None when not applicable)."""

    finding: Finding
    subject: str
    verdict: str
    estimate: Estimate | None
    reason: str = ""


def known_families(conf_dir: Path = CONF_DIR) -> tuple[str, ...]:
    """The model families the configs name: every ``family:`` of ``conf_dir/model/*.yaml``."""
    out = set()
    for p in sorted((conf_dir / "model").glob("*.yaml")):
        family = (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("family")
        if isinstance(family, str):
            out.add(family)
    return tuple(sorted(out))


def _entry(raw: Any, i: int, path: Path, families: Sequence[str]) -> Finding:
    where = f"{path}: findings[{i}]"
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where}: expected a mapping, got {type(raw).__name__}")
    where = f"{path}: finding {raw.get('id', i)!r}"
    unknown = set(raw) - _KEYS
    missing = [k for k in ("id", "source", "claim", "statistic", "rule") if k not in raw]
    if unknown or missing:
        raise EmovecInputError(f"{where}: unknown key(s) {sorted(unknown)}, missing key(s) {missing}")
    if raw["statistic"] not in FINDING_STATISTICS:
        raise EmovecInputError(f"{where}: statistic {raw['statistic']!r} is not registered; "
                               f"known: {sorted(FINDING_STATISTICS)}")
    if raw["rule"] not in RULES:
        raise EmovecInputError(f"{where}: rule {raw['rule']!r} is not one of {list(RULES)}")
    rule = raw["rule"]
    foreign = sorted(k for k in set().union(*_RULE_PARAMS.values()) - _RULE_PARAMS[rule] if k in raw)
    if foreign:
        raise EmovecInputError(f"{where}: rule {rule} does not take {foreign} (it takes {sorted(_RULE_PARAMS[rule])})")
    if rule == "ci_side" and raw.get("side") not in ("greater", "less"):
        raise EmovecInputError(f"{where}: rule ci_side needs side: greater or less (got {raw.get('side')!r})")
    threshold = raw.get("threshold", 0.0)
    if rule == "ci_excludes" and "threshold" not in raw:
        raise EmovecInputError(f"{where}: rule ci_excludes needs threshold (the value the CI must exclude)")
    if not _is_number(threshold):
        raise EmovecInputError(f"{where}: threshold must be a number (got {threshold!r})")
    reported = raw.get("reported")
    if rule == "ci_overlaps":
        if not (isinstance(reported, list) and len(reported) == 2 and all(_is_number(x) for x in reported)
                and reported[0] <= reported[1]):
            raise EmovecInputError(f"{where}: rule ci_overlaps needs reported: [low, high] (got {reported!r})")
        reported = (float(reported[0]), float(reported[1]))
    margin = raw.get("margin")
    if rule == "ci_within":
        if not (isinstance(margin, list) and len(margin) == 2 and all(_is_number(x) for x in margin)
                and margin[0] < margin[1] and all(math.isfinite(x) for x in margin)):
            raise EmovecInputError(f"{where}: rule ci_within needs margin: [low, high] with low < high "
                                   f"(got {margin!r})")
        margin = (float(margin[0]), float(margin[1]))
    source = raw["source"]
    if not isinstance(source, dict) or not {"paper", "section"} <= set(source):
        raise EmovecInputError(f"{where}: source needs paper and section")
    applies = raw.get("applies") or {}
    if not isinstance(applies, dict) or set(applies) - set(APPLIES) or (applies and not raw.get("why")):
        raise EmovecInputError(f"{where}: applies may hold {', '.join(APPLIES)}, and needs a why")
    for key, value in applies.items():
        allowed = APPLIES[key] if APPLIES[key] is not None else families
        if value not in allowed:
            raise EmovecInputError(f"{where}: applies.{key} {value!r} is not one of {sorted(allowed)}")
    return Finding(id=str(raw["id"]), paper=str(source["paper"]), section=str(source["section"]),
                   claim=str(raw["claim"]), statistic=raw["statistic"], rule=raw["rule"], args=raw.get("args") or {},
                   side=raw.get("side"), threshold=float(threshold), reported=reported, margin=margin,
                   applies=applies, why=str(raw.get("why", "")))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _read_ledger(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EmovecInputError(f"{path}: cannot read the findings ledger ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("findings"), list):
        raise EmovecInputError(f"{path}: expected a mapping with a list under 'findings'")
    unknown = set(raw) - {"settings", "findings"}
    if unknown:
        raise EmovecInputError(f"{path}: unknown top-level key(s) {sorted(unknown)}; expected settings, findings")
    return raw


def load_rsa_settings(path: str | Path) -> RSASettings:
    """The ledger's ``settings.rsa`` (every field of :class:`RSASettings` required, none other)."""
    path = Path(path)
    node = (_read_ledger(path).get("settings") or {}).get("rsa")
    fields = {f.name for f in dataclasses.fields(RSASettings)}
    if not isinstance(node, dict) or set(node) != fields:
        got = sorted(node) if isinstance(node, dict) else node
        raise EmovecInputError(f"{path}: settings.rsa must hold exactly {sorted(fields)}; got {got}")
    depths = node["depths"]
    if not (isinstance(depths, list) and depths and all(isinstance(d, (int, float)) and 0 <= d <= 1 for d in depths)):
        raise EmovecInputError(f"{path}: settings.rsa.depths must be a non-empty list of numbers in [0, 1]")
    for key in ("n_perm", "n_boot"):
        if not isinstance(node[key], int) or node[key] < 1:
            raise EmovecInputError(f"{path}: settings.rsa.{key} must be an integer >= 1")
    if not isinstance(node["seed"], int) or not 0 < float(node["level"]) < 1:
        raise EmovecInputError(f"{path}: settings.rsa.seed must be an integer and level in (0, 1)")
    return RSASettings(depths=tuple(float(d) for d in depths), n_perm=node["n_perm"], n_boot=node["n_boot"],
                       seed=node["seed"], level=float(node["level"]))


def load_findings(path: str | Path, families: Sequence[str] | None = None) -> list[Finding]:
    """Read and check the ledger; every entry is checked before any is used. ``families``: the
    names ``applies.family`` may take (default :func:`known_families`)."""
    path = Path(path)
    raw = _read_ledger(path)
    families = known_families() if families is None else tuple(families)
    findings = [_entry(r, i, path, families) for i, r in enumerate(raw["findings"])]
    ids = [f.id for f in findings]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise EmovecInputError(f"{path}: duplicate finding id(s) {dup}")
    return findings


def verdict(f: Finding, est: Estimate) -> str:
    """The rule of ``f`` applied to ``est``'s CI (a NaN bound is inconclusive)."""
    lo, hi = est.ci_low, est.ci_high
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    if f.rule == "ci_side":
        above, below = lo > f.threshold, hi < f.threshold
        claimed, other = (above, below) if f.side == "greater" else (below, above)
        return "supported" if claimed else "contradicted" if other else "inconclusive"
    if f.rule == "ci_excludes":
        return "supported" if lo > f.threshold or hi < f.threshold else "inconclusive"
    if f.rule == "ci_within":
        assert f.margin is not None
        low, high = f.margin
        if low <= lo and hi <= high:
            return "supported"
        return "contradicted" if hi < low or lo > high else "inconclusive"
    assert f.reported is not None
    return "differs" if hi < f.reported[0] or lo > f.reported[1] else "consistent"


def _not_applying(f: Finding, s: Subject, kind: str) -> str:
    """Every ``applies`` key the subject fails, in words ("" when the claim applies to it)."""
    have = {"variant": s.variants, "family": s.families, "kind": (kind,)}
    failed = [key for key in APPLIES if f.applies.get(key) is not None and f.applies[key] not in have[key]]
    if not failed:
        return ""
    return (f"applies to {', '.join(f'{k} {f.applies[k]}' for k in failed)}; this is "
            f"{', '.join(' / '.join(dict.fromkeys(have[k])) for k in failed)}")


def _kind(s: Subject) -> str:
    if len(s.models) < 2:
        return "model"
    return "base_instruct" if len(set(s.families)) == 1 and set(s.variants) == {"base", "instruct"} else "cross_model"


def evaluate_findings(findings: Sequence[Finding], ctx: FindingsContext) -> list[FindingRow]:
    """Every finding on every subject its statistic reports, in ledger order."""
    rows: list[FindingRow] = []
    for f in findings:
        outcomes: list[Outcome] = FINDING_STATISTICS[f.statistic](ctx, f.args)
        these = []
        for o in outcomes:
            fails = _not_applying(f, o.subject, _kind(o.subject)) if o.estimate is not None else ""
            if fails:
                these.append(FindingRow(f, o.subject.label, "not applicable", None, f"{f.why} ({fails})"))
            elif o.estimate is None:
                these.append(FindingRow(f, o.subject.label, "not applicable", None, o.not_applicable))
            else:
                these.append(FindingRow(f, o.subject.label, verdict(f, o.estimate), o.estimate))
        if not outcomes:
            need = f.why or "the run has no subject this statistic applies to"
            these.append(FindingRow(f, "(run)", "not applicable", None, f"no subject in this run: {need}"))
        rows.extend(these)
    return rows
