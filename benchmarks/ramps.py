"""Ramps under a time trend: how often does an A/A canary get promoted, and its SRM alert?

Each run writes one A/A canary into a fresh endpoint of a SQLite database (both arms serve
the same model): units assigned by the real bucket function, returning with heavy-tailed
visit counts, a click rate that moves from one ramp step to the next (0.10 at 5 % and 0.12
at 50 % by default), and requests still routed at the old share just after each ramp. The
controller's looks are replayed through the real ``analyse`` and ``decide`` (see
``tests/evaluation/ramp_simulation.py``). Counted per run: a promotion at any look, an SRM
alert at any look, and, for comparison, a significant win by the analysis champion ran
before assignment regimes (every step pooled, arms grouped by (arm, unit)).

Run from the repository root:

    nice -n 10 .venv/bin/python benchmarks/ramps.py                          # 200 runs
    nice -n 10 .venv/bin/python benchmarks/ramps.py --units 5000 --rates 0.10,0.20
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.ramp_simulation import (  # noqa: E402
    RampScenario,
    analyse_ramp,
    design_of,
    forget,
    write_ramp,
)

from champion.db.engine import make_engine  # noqa: E402  (after the path to tests/)
from champion.db.migrate import migrate  # noqa: E402
from champion.evaluation.design import ExperimentDesign  # noqa: E402


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--units", type=int, default=25_000)
    parser.add_argument("--shares", type=_floats, default=(0.05, 0.5))
    parser.add_argument("--rates", type=_floats, default=(0.10, 0.12))
    parser.add_argument("--looks", type=int, default=2, help="Looks per step.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ramps.json")
    args = parser.parse_args()
    scenario = RampScenario(
        units=args.units, shares=args.shares, rates=args.rates, looks_per_step=args.looks
    )
    design = design_of(scenario)
    started = time.perf_counter()
    counts = {"runs": 0, "promoted": 0, "pooled_promoted": 0, "srm_alert": 0}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/ramps.db")
        migrate(engine)
        seeds = np.random.SeedSequence(args.seed).spawn(args.runs)
        for run, seed in enumerate(seeds):
            endpoint = f"aa-{run}"
            starts = write_ramp(engine, endpoint, scenario, np.random.default_rng(seed))
            outcome = analyse_ramp(engine, endpoint, scenario, starts, design)
            forget(engine, endpoint)
            counts["runs"] += 1
            counts["promoted"] += outcome.promoted
            counts["pooled_promoted"] += outcome.pooled_promoted
            counts["srm_alert"] += outcome.srm_alerts > 0
            # Written after every run: a long run stopped early keeps what it found.
            result = _result(args, design, counts, time.perf_counter() - started)
            args.out.parent.mkdir(exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n")
            print(f"run {run + 1}/{args.runs}: {counts}", flush=True)
        engine.dispose()
    n = counts["runs"]
    print(
        f"A/A promoted in {counts['promoted']} of {n} runs ({result['promote_rate']:.3f}; "
        f"bound alpha + 2 s.e. = {result['bound']:.3f}); pooled steps would have promoted in "
        f"{counts['pooled_promoted']}. Runs with an SRM alert: {counts['srm_alert']}."
    )


def _result(
    args: argparse.Namespace, design: ExperimentDesign, counts: dict[str, int], seconds: float
) -> dict[str, Any]:
    n, alpha = counts["runs"], design.alpha
    se = math.sqrt(alpha * (1 - alpha) / n)
    return {
        "scenario": {
            "runs": args.runs,
            "units": args.units,
            "shares": list(args.shares),
            "rates": list(args.rates),
            "looks_per_step": args.looks,
            "seed": args.seed,
            "alpha": alpha,
            "method": design.method,
            "sequential_tuning": design.sequential_tuning,
            "min_sample": design.min_sample,
        },
        "counts": counts,
        "promote_rate": counts["promoted"] / n,
        "bound": alpha + 2 * se,
        "pooled_promote_rate": counts["pooled_promoted"] / n,
        "seconds": round(seconds, 1),
    }


if __name__ == "__main__":
    main()
