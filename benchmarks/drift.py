"""Drift benchmark: champion against Evidently's DataDriftPreset and a plain SciPy loop.

One command (champion's venv; Evidently runs in benchmarks/.venv-evidently):

    .venv/bin/python benchmarks/drift.py                 # everything (about 15 minutes)
    .venv/bin/python benchmarks/drift.py --rows 100000 --scaling 100000,300000 --repeats 5

1. Data: the seeded 25-column table of tests/drift/tables.py (20 numeric columns of varied
   shapes, 5 categorical up to 40 levels, mild shifts in 8 known columns), written once to
   Parquet under benchmarks/build/drift/. Every contender reads the same files.
2. Speed and memory at ``--rows`` x 25: each contender runs in its own process, which reports
   its compare time (in-process: reading the current data and comparing), its peak RSS
   (whole process) and the growth of its RSS during the comparison; the parent adds the
   whole process's wall time. champion compares against a reference profile stored
   beforehand (as the server does: the reference data is never read); Evidently and the
   SciPy loop read the raw reference.
3. Scaling: champion on current windows of 100k to 10M rows streamed from Parquet in chunks.
4. Accuracy: which columns each flags, shifted at 100k and ``--rows``, and over
   ``--repeats`` unshifted windows of 100k rows (``--evidently-repeats`` for Evidently, whose
   runs take a minute each here).

Results go to benchmarks/results/drift.json and are printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUILD = ROOT / "benchmarks" / "build" / "drift"
RESULTS = ROOT / "benchmarks" / "results" / "drift.json"
EVIDENTLY_PYTHON = ROOT / "benchmarks" / ".venv-evidently" / "bin" / "python"
CHUNK = 100_000


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- data ----------------------------------------------------------------------------------


def write_table(path: Path, rows: int, seed: int, shifted: bool) -> Path:
    """Write ``rows`` rows chunk by chunk (each chunk its own seed), so memory stays flat."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tests.drift.tables import synthetic_table

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer = None
    for index, start in enumerate(range(0, rows, CHUNK)):
        frame = synthetic_table(min(CHUNK, rows - start), seed=seed * 1000 + index, shifted=shifted)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(partial, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


# -- contenders (each runs in a child process) ----------------------------------------------


def child_profile(reference: Path, out: Path) -> dict[str, Any]:
    import pandas as pd

    from champion.drift import ReferenceProfile

    started = time.perf_counter()
    profile = ReferenceProfile.from_frame(pd.read_parquet(reference))
    out.write_text(json.dumps(profile.to_dict()))
    return {"seconds": time.perf_counter() - started, "profile_bytes": out.stat().st_size}


def child_champion(profile_path: Path, current: Path) -> dict[str, Any]:
    from champion.datafiles import iter_table
    from champion.drift import ReferenceProfile, compare_table

    before = rss_mb()
    started = time.perf_counter()
    profile = ReferenceProfile.from_dict(json.loads(profile_path.read_text()))
    result = compare_table(profile, iter_table(current, CHUNK))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_growth_mb": peak_rss_mb() - before,
        "drifted": result.drifted_columns,
        "rows": result.rows,
    }


def child_scipy(reference: Path, current: Path) -> dict[str, Any]:
    """The same tests as champion's defaults, per column, on the raw data."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    before = rss_mb()
    started = time.perf_counter()
    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    drifted = []
    for name in ref.columns:
        r, c = ref[name], cur[name]
        if name.startswith("category"):
            keys = sorted(set(r.unique()) | set(c.unique()))
            p = r.value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
            q = c.value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
            p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
            value = float(np.sum((q - p) * np.log(q / p)))
        else:
            value = stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
        if value >= 0.1:
            drifted.append(name)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_growth_mb": peak_rss_mb() - before,
        "drifted": drifted,
        "rows": len(cur),
    }


def run_child(python: Path, *args: str) -> dict[str, Any]:
    """Run one contender in a fresh process; add its wall time and peak RSS."""
    script = (
        Path(__file__).with_name("drift_evidently.py")
        if python == EVIDENTLY_PYTHON
        else Path(__file__)
    )
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), str(script), "--child", *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


# -- the benchmark ---------------------------------------------------------------------------


def accuracy(rows: int, repeats: int, evidently_repeats: int) -> dict[str, Any]:
    from tests.drift.tables import SHIFTED, synthetic_table

    from champion.drift import ReferenceProfile, compare_table

    found: dict[str, Any] = {"shifted": sorted(SHIFTED)}
    for n in sorted({100_000, rows}):
        reference = ReferenceProfile.from_frame(synthetic_table(n, seed=1))
        flagged = compare_table(reference, synthetic_table(n, seed=2, shifted=True)).drifted_columns
        found[f"champion_shifted_{n}"] = sorted(flagged)
    reference = ReferenceProfile.from_frame(synthetic_table(100_000, seed=1))
    false = [
        compare_table(reference, synthetic_table(100_000, seed=100 + i)).drifted_columns
        for i in range(repeats)
    ]
    found["champion_unshifted_false_columns"] = sum(len(f) for f in false)
    found["champion_unshifted_flagged"] = sorted({c for f in false for c in f})
    if evidently_repeats:
        found["evidently"] = run_child(EVIDENTLY_PYTHON, "accuracy", str(evidently_repeats))
    return found


def speed(rows: int, evidently: bool) -> dict[str, Any]:
    reference = write_table(BUILD / f"reference_{rows}.parquet", rows, seed=1, shifted=False)
    current = write_table(BUILD / f"current_{rows}.parquet", rows, seed=2, shifted=True)
    profile = BUILD / f"profile_{rows}.json"
    python = Path(sys.executable)
    results: dict[str, Any] = {
        "profile": run_child(python, "profile", str(reference), str(profile))
    }
    results["champion"] = run_child(python, "champion", str(profile), str(current))
    results["scipy"] = run_child(python, "scipy", str(reference), str(current))
    if evidently:
        results["evidently"] = run_child(EVIDENTLY_PYTHON, "speed", str(reference), str(current))
    return results


def scaling(sizes: list[int]) -> list[dict[str, Any]]:
    reference = write_table(BUILD / "reference_100000.parquet", 100_000, seed=1, shifted=False)
    profile = BUILD / "profile_100000.json"
    python = Path(sys.executable)
    run_child(python, "profile", str(reference), str(profile))
    points = []
    for n in sizes:
        current = write_table(BUILD / f"current_{n}.parquet", n, seed=2, shifted=True)
        result = run_child(python, "champion", str(profile), str(current))
        points.append({"rows": n, **result})
        print(
            f"  {n:>11,} rows: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    return points


def versions() -> dict[str, Any]:
    found = {
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
    }
    if EVIDENTLY_PYTHON.exists():
        code = "import evidently, pandas; print(evidently.__version__, pandas.__version__)"
        done = subprocess.run(
            [str(EVIDENTLY_PYTHON), "-c", code], capture_output=True, text=True, check=False
        )
        found["evidently"], found["evidently_pandas"] = done.stdout.split()
    import pandas
    import scipy

    found["pandas"], found["scipy"] = pandas.__version__, scipy.__version__
    found["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return found


def table(results: dict[str, Any]) -> str:
    rows = results["rows"]
    s = results["speed"]
    lines = [
        f"Speed and memory at {rows:,} x 25 (each in its own process):",
        "",
        "| contender | compare s | process s | peak RSS MB | RSS growth MB | flagged |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("champion", "scipy", "evidently"):
        if name in s:
            r = s[name]
            lines.append(
                f"| {name} | {r['seconds']:.2f} | {r['process_seconds']:.2f} | "
                f"{r['peak_rss_mb']:.0f} | {r['rss_growth_mb']:.0f} | {len(r['drifted'])} |"
            )
    built = s["profile"]
    lines.append(
        f"\nchampion's reference profile: built once in {built['seconds']:.1f} s, "
        f"{built['profile_bytes']:,} bytes of JSON."
    )
    if "evidently" in s:
        e, c = s["evidently"], s["champion"]
        lines.append(
            f"champion / Evidently: {e['seconds'] / c['seconds']:.1f}x faster in-process, "
            f"{e['process_seconds'] / c['process_seconds']:.1f}x as whole processes, "
            f"{c['peak_rss_mb'] / e['peak_rss_mb']:.2f} of its peak memory."
        )
    lines += [
        "",
        "Scaling (champion, current window streamed from Parquet in 100k-row chunks):",
        "",
        "| rows | seconds | s per 1M rows | peak RSS MB |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for p in results["scaling"]:
        per_million = p["seconds"] / p["rows"] * 1e6
        lines.append(
            f"| {p['rows']:,} | {p['seconds']:.1f} | {per_million:.2f} | {p['peak_rss_mb']:.0f} |"
        )
    a = results["accuracy"]
    lines += ["", f"Accuracy (shifted: {', '.join(a['shifted'])}):", ""]
    for key, value in a.items():
        if key != "shifted":
            lines.append(f"- {key}: {value}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scaling", default="100000,300000,1000000,3000000,10000000")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--evidently-repeats", type=int, default=5, help="Evidently is slow")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument(
        "--only",
        default="speed,scaling,accuracy",
        help="parts to run (others kept from the last results)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *paths = args.child
        functions = {"profile": child_profile, "champion": child_champion, "scipy": child_scipy}
        result = functions[kind](*map(Path, paths))
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    evidently = not args.skip_evidently and EVIDENTLY_PYTHON.exists()
    parts = set(args.only.split(","))
    results: dict[str, Any] = {}
    if parts != {"speed", "scaling", "accuracy"} and RESULTS.exists():
        results = json.loads(RESULTS.read_text())
    results |= {"rows": args.rows, "versions": versions()}
    if "speed" in parts:
        print(f"Speed and memory at {args.rows:,} rows...", flush=True)
        results["speed"] = speed(args.rows, evidently)
    if "scaling" in parts:
        print("Scaling...", flush=True)
        results["scaling"] = scaling([int(n) for n in args.scaling.split(",")])
    if "accuracy" in parts:
        print("Accuracy...", flush=True)
        results["accuracy"] = accuracy(
            args.rows, args.repeats, args.evidently_repeats if evidently else 0
        )
    if evidently and "evidently" in results["speed"] and "evidently" in results["accuracy"]:
        results["accuracy"]["evidently"][f"shifted_{args.rows}"] = results["speed"]["evidently"][
            "drifted"
        ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
