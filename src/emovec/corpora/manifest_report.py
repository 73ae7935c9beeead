"""The report of :func:`emovec.corpora.manifest.materialise`: what it found, where each file came
from, and, for the files still missing, which config choices and run selections need them.

What needs a file is derived from conf/ when the summary is written
(:mod:`emovec.corpora.upstream_choices`), so the report always matches the configs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from emovec.errors import EmovecInputError


@dataclass
class MaterialiseReport:
    """What :func:`materialise` did: per file, whether it was already there, where from, or missing."""

    data_dir: Path
    already_present: list[str] = field(default_factory=list)
    obtained: dict[str, str] = field(default_factory=dict)
    """path -> source label (``dvc``, ``mirror <root>``, ``url <url>``)."""
    missing: list[str] = field(default_factory=list)
    stale: dict[str, str] = field(default_factory=dict)
    """path -> sha256 of a pre-existing wrong file left untouched because no source could replace it."""
    attempts: dict[str, list[str]] = field(default_factory=dict)
    """path -> why each source that was tried did not supply it (for the summary of missing files)."""
    notes: list[str] = field(default_factory=list)
    """Run-level remarks (DVC skipped or failed, mirror root absent, offline)."""

    @property
    def complete(self) -> bool:
        """True when every manifest file is now in data/ with the right sha256."""
        return not self.missing

    def summary(self) -> str:
        """Human-readable account, ending with the config choices and the run selections that the
        missing files rule out (both derived from conf/, see :mod:`emovec.corpora.upstream_choices`)."""
        n = len(self.already_present) + len(self.obtained) + len(self.missing)
        by_source: dict[str, int] = {}
        for src in self.obtained.values():
            kind = src.split(" ", 1)[0]
            by_source[kind] = by_source.get(kind, 0) + 1
        got = ", ".join(f"{k}: {v}" for k, v in sorted(by_source.items()))
        lines = [
            f"upstream data in {self.data_dir}: {n} file(s): {len(self.already_present)} already present, "
            f"{len(self.obtained)} obtained{f' ({got})' if got else ''}, {len(self.missing)} missing."
        ]
        lines += [f"note: {note}" for note in self.notes]
        if not self.missing:
            return "\n".join(lines)
        needed, selections, conf_problem = _what_needs(self.missing)
        lines.append("Unavailable until the missing files are materialised:")
        for p in self.missing:
            shown = (self.data_dir / p).as_posix()
            choices = needed.get(p, ())
            lines += [f"  {choice} needs {shown}" for choice in choices]
            if not choices:
                lines.append(f"  {shown} (no config choice reads it)")
            if p in self.stale:
                lines.append(f"    (a file with the wrong sha256 {self.stale[p]} is there; not replaced)")
            for why in self.attempts.get(p, []):
                lines.append(f"    - {why}")
        lines.append(
            "Fix: set UPSTREAM_ROOT to a mirror (e.g. ../shared/reference), configure a DVC "
            "remote, or run without --offline."
        )
        for name, files in selections.items():
            what = f"{len(files)} of the {len(self.missing)} missing file(s)" if files else "none of them"
            lines.append(f"  the run selection {name} needs {what}")
        if conf_problem:
            lines.append(f"  (which choices need them is unknown: {conf_problem})")
        return "\n".join(lines)


def _what_needs(missing: list[str]) -> tuple[dict[str, tuple[str, ...]], dict[str, list[str]], str | None]:
    """(file -> choices needing it, selection -> the missing files it needs, a problem reading
    conf/ or None): a broken conf/ must not hide the report of what was materialised."""
    from emovec.corpora.upstream_choices import needed_by, needed_by_selections
    from emovec.paths import REPO_ROOT

    try:
        needed = needed_by()
        by_path = needed_by_selections(missing, needed=needed)
    except (EmovecInputError, OSError, yaml.YAMLError) as exc:
        return {}, {}, str(exc)
    shown = {(p.relative_to(REPO_ROOT).as_posix() if p.is_relative_to(REPO_ROOT) else str(p)): files
             for p, files in by_path.items()}
    return needed, shown, None
