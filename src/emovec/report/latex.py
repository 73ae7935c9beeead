"""LaTeX building blocks shared by every table: escaping, number formats and table layout.

Every table module (``emovec.report.table_defs``) and the claims table format through these
functions, so one rule decides how a number, a p-value, a missing value or a wide table looks
in every ``.tex`` file. All output is deterministic plain text (no timestamps, fixed float
formats); the tables need ``booktabs`` (and ``graphicx`` for wide ones, wrapped in
``\\resizebox``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

from emovec.readers.checked import as_float, is_missing

__all__ = [
    "DASH",
    "WIDE_COLUMNS",
    "fmt_num",
    "fmt_p",
    "fmt_p_or_dash",
    "fmt_percent",
    "fmt_ratio",
    "fmt_setting",
    "fmt_signed",
    "index_ranges",
    "latex_escape",
    "latex_text",
    "latex_token",
    "summarise",
    "table_row",
    "tabular",
    "wrap_table",
]

DASH = "---"  # LaTeX em dash: a cell that was not run / a value that does not exist
WIDE_COLUMNS = 8  # tables with more columns than this are scaled to \\linewidth


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``\\ & % $ # _ { } ~ ^``) in text mode."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


# Characters the papers' text brings into the claims ledger, spelled so pdflatex needs no extra package.
# Characters the papers' text brings into the ledger, spelled so pdflatex needs no extra package.
_UNICODE_LATEX = {"§": "\\S{}", "–": "--", "—": "---", "Δ": "$\\Delta$", "∗": "*", "≤": "$\\le$", "≥": "$\\ge$",
                  "×": "$\\times$", "→": "$\\rightarrow$", "’": "'", "‘": "`", "“": "``", "”": "''", "±": "$\\pm$"}


def latex_text(text: str) -> str:
    """LaTeX-escape ``text`` and spell the ledger's non-ASCII characters (§ – Δ ≤ ...) in ASCII
    LaTeX; accents are dropped (NFKD) and anything else becomes ``?`` rather than a TeX error."""
    out = []
    for ch in latex_escape(text):
        if ord(ch) < 128:
            out.append(ch)
        elif ch in _UNICODE_LATEX:
            out.append(_UNICODE_LATEX[ch])
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


def _visible_char(ch: str) -> str:
    # Printable ASCII (0x21-0x7E) is shown as itself (escaped). Everything else -- CJK, accented
    # letters, whitespace, control characters -- becomes its code point: pdflatex's default
    # fonts have no glyphs for CJK and fail on undeclared Unicode characters, and an invisible
    # space or newline would be unreadable in a table anyway.
    return latex_escape(ch) if 0x21 <= ord(ch) <= 0x7E else f"U+{ord(ch):04X}"


def latex_token(token: str) -> str:
    """A leaked token as pdflatex-safe text: printable ASCII escaped, every other character as
    its code point (``快`` -> ``U+5FEB``); code points are separated from each other and from
    ASCII runs by a space. The empty token is ``(empty)``."""
    if not token:
        return "(empty)"
    pieces: list[str] = []
    run = ""
    for ch in token:
        if 0x21 <= ord(ch) <= 0x7E:
            run += latex_escape(ch)
            continue
        if run:
            pieces.append(run)
            run = ""
        pieces.append(_visible_char(ch))
    if run:
        pieces.append(run)
    return " ".join(pieces)


# --------------------------------------------------------------------------------------------
# Numbers and settings
# --------------------------------------------------------------------------------------------

def fmt_num(x: Any, digits: int) -> str:
    """Fixed-point with ``digits`` decimals; NaN/None -> ``---``; ``-0.000`` -> ``0.000``."""
    if is_missing(x):
        return DASH
    s = f"{float(x):.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def fmt_signed(x: Any, digits: int) -> str:
    """Like ``fmt_num`` with an explicit sign (differences), zero unsigned."""
    if is_missing(x):
        return DASH
    s = f"{float(x):+.{digits}f}"
    return s[1:] if float(s) == 0 else s


def fmt_p(p: float, digits: int) -> str:
    """p with ``digits`` decimals; below the resolution shown as ``$<$0.001`` (never ``0.000``)."""
    resolution = 10.0 ** (-digits)
    if p < resolution:
        return f"$<${resolution:.{digits}f}"
    return fmt_num(p, digits)


def fmt_p_or_dash(x: Any, digits: int) -> str:
    """``fmt_p`` of a value that may be missing (None, NaN, not a number): then ``---``."""
    v = as_float(x)
    return DASH if math.isnan(v) else fmt_p(v, digits)


def fmt_ratio(x: Any, digits: int) -> str:
    """A ratio (e.g. lambda1/lambda2, PPL high/low): ``fmt_num``, with infinity as ``$\\infty$``."""
    v = as_float(x)
    if math.isinf(v):
        return "$\\infty$"
    return fmt_num(v, digits)


def fmt_percent(level: float) -> str:
    """A confidence level given as a share (0.95) or a percentage (95) as ``95\\%``."""
    pct = 100.0 * level if level <= 1 else float(level)
    return f"{pct:g}\\%"


def fmt_setting(value: Any) -> str:
    """A summary setting as LaTeX text; lists joined, booleans yes/no, None = none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_setting(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{latex_escape(k)}: {fmt_setting(v)}" for k, v in sorted(value.items()))
    return latex_escape(str(value))


def summarise(items: Sequence[tuple[str, str]]) -> str:
    """``v`` if every labelled item shares value v, else ``v1 (a, b); v2 (c)`` in item order."""
    groups: dict[str, list[str]] = {}
    for label, value in items:
        groups.setdefault(value, []).append(label)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{value} ({', '.join(labels)})" for value, labels in groups.items())


def index_ranges(values: Sequence[int]) -> str:
    """Sorted block indices as compact ranges: [0, 1, 2, 5] -> ``0--2, 5``."""
    vals = sorted(set(int(v) for v in values))
    parts, start = [], 0
    for i in range(1, len(vals) + 1):
        if i == len(vals) or vals[i] != vals[i - 1] + 1:
            a, b = vals[start], vals[i - 1]
            parts.append(str(a) if a == b else f"{a}--{b}")
            start = i
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Table layout
# --------------------------------------------------------------------------------------------

def table_row(cells: Sequence[str]) -> str:
    """One tabular row: cells joined by `` & ``, ended by ``\\\\``."""
    return " & ".join(cells) + " \\\\"


def tabular(colspec: str, header: Sequence[str], body: Sequence[str], footer: Sequence[str] = ()) -> str:
    """A booktabs ``tabular``: header rows, a rule, body rows and (optionally) a rule and footer rows."""
    lines = [f"\\begin{{tabular}}{{{colspec}}}", "\\toprule", *header, "\\midrule", *body]
    if footer:
        lines += ["\\midrule", *footer]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def wrap_table(caption: str, label: str, tabulars: Sequence[tuple[str, int]]) -> str:
    """A complete float: caption above, then each (tabular, n_columns), those with more than
    ``WIDE_COLUMNS`` columns scaled to the line width."""
    parts = [
        "% Generated by emovec.report.tables from tracked pipeline outputs; do not edit by hand.",
        "% Requires \\usepackage{booktabs} (and \\usepackage{graphicx} for \\resizebox).",
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\caption{{{caption}}}",
        f"\\label{{{label}}}",
    ]
    for i, (tabular, n_cols) in enumerate(tabulars):
        if i:
            parts += ["", "\\medskip", ""]
        if n_cols > WIDE_COLUMNS:
            parts += ["\\resizebox{\\linewidth}{!}{%", tabular + "%", "}"]
        else:
            parts.append(tabular)
    parts.append("\\end{table}")
    return "\n".join(parts) + "\n"
