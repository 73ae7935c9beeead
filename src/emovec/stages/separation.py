"""Stage: separation of one cell's emotion vectors at every layer, with floor, null and anisotropy,
and (``--resampling-out``) the reported layer's leave-one-out, per-emotion and bootstrap replicates
(:func:`emovec.geometry.separation_study.run_separation`)."""

from __future__ import annotations

import argparse

from emovec.geometry.separation_study import run_separation
from emovec.stages.common import stage_entry


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cells/<cell>/separation.yaml")
    ap.add_argument("--activations", required=True, help="build/activations/<cell>")
    ap.add_argument("--out", required=True, help="build/separation/<cell>.csv")
    ap.add_argument("--resampling-out", default=None,
                    help="JSON of LOO / per-emotion / bootstrap replicates at the reported layer")
    args = ap.parse_args(argv)
    run_separation(args.config, args.activations, args.out, args.resampling_out)


if __name__ == "__main__":
    raise SystemExit(main())
