"""Separation results: cell order, per-model method pairs, base/instruct pairs and the
differences the separation tables report (all at each cell's reported layer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emovec.errors import EmovecInputError
from emovec.geometry.separation import best_layer
from emovec.readers.paper_separation import sort_key
from emovec.readers.separation import CellData

__all__ = ["ModelMethods", "by_model", "lowest_layer", "method_pairs", "ordered_cells", "rlhf_delta",
           "rlhf_pairs"]


def ordered_cells(cells: Mapping[str, CellData]) -> list[CellData]:
    """The cells in ``sort_key`` order (family, base before instruct, model, generation first)."""
    return sorted(cells.values(), key=lambda d: sort_key(d.spec))


@dataclass(frozen=True)
class ModelMethods:
    """One model's cells by method, and generation minus comprehension mean cosine (None unless
    both methods ran)."""

    model: str
    cells: dict[str, CellData]
    gen_minus_comp: float | None


def by_model(cells: Mapping[str, CellData]) -> list[ModelMethods]:
    """One entry per model in ``ordered_cells`` order (the last cell of a method wins; the config
    allows one per method)."""
    grouped: dict[str, dict[str, CellData]] = {}
    for cd in ordered_cells(cells):
        grouped.setdefault(cd.spec.model, {})[cd.spec.method] = cd
    out = []
    for model, methods in grouped.items():
        diff = None
        if "generation" in methods and "comprehension" in methods:
            diff = (float(methods["generation"].reported["mean_cosine"])
                    - float(methods["comprehension"].reported["mean_cosine"]))
        out.append(ModelMethods(model=model, cells=methods, gen_minus_comp=diff))
    return out


def method_pairs(cells: Mapping[str, CellData]) -> list[tuple[CellData, CellData]]:
    """(generation, comprehension) cells per model; the first of each method in table order."""
    grouped: dict[str, dict[str, CellData]] = {}
    for c in ordered_cells(cells):
        grouped.setdefault(c.spec.model, {}).setdefault(c.spec.method, c)
    return [(m["generation"], m["comprehension"]) for m in grouped.values()
            if "generation" in m and "comprehension" in m]


def lowest_layer(cell: CellData) -> int:
    """The layer with the lowest mean pairwise cosine (best separation; selection-biased)."""
    return best_layer(cell.separation["mean_cosine"].to_numpy())


def rlhf_pairs(cells: Mapping[str, CellData]) -> list[tuple[CellData, CellData]]:
    """(base, instruct) cell pairs: same family and method, matched by ``partner``.

    A pair is matched when either side names the other as partner; when neither names a
    partner and the family has exactly one base cell for that method, that one is used.
    Returned in ``sort_key`` order of the instruct cell.
    """
    ordered = ordered_cells(cells)
    pairs = []
    for inst in (c for c in ordered if c.spec.variant == "instruct"):
        bases = [c for c in ordered if c.spec.variant == "base" and c.spec.family == inst.spec.family
                 and c.spec.method == inst.spec.method]
        linked = [b for b in bases if b.spec.model == inst.spec.partner or b.spec.partner == inst.spec.model]
        if not linked and inst.spec.partner is None and len(bases) == 1 and bases[0].spec.partner is None:
            linked = bases
        if len(linked) > 1:
            raise EmovecInputError(
                f"instruct cell {inst.spec.cell!r} matches several base cells "
                f"{[b.spec.cell for b in linked]}; set partner in the model configs")
        if linked:
            pairs.append((linked[0], inst))
    return pairs


def rlhf_delta(base: CellData, instruct: CellData) -> float:
    """Instruct minus base mean pairwise cosine at the reported layers (negative = the instruct
    variant separates better)."""
    return float(instruct.reported["mean_cosine"]) - float(base.reported["mean_cosine"])

