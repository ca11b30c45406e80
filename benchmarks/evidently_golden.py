"""Record Evidently 0.7's PSI, Jensen-Shannon and normed Wasserstein on the agreement cases.

Runs in Evidently's own venv (it needs pandas < 3; champion's venv never gets it):

    python3 -m venv benchmarks/.venv-evidently
    benchmarks/.venv-evidently/bin/pip install -r benchmarks/requirements-evidently.txt
    benchmarks/.venv-evidently/bin/python benchmarks/evidently_golden.py

It writes ``tests/drift/evidently_golden.json``; ``tests/drift/test_evidently_golden.py``
checks champion's Evidently mode against it to 1e-9.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import evidently  # noqa: E402
from evidently.legacy.calculations.stattests import (  # noqa: E402
    jensenshannon_stat_test,
    psi_stat_test,
    wasserstein_stat_test,
)
from evidently.legacy.core import ColumnType  # noqa: E402
from tests.drift.evidently_cases import CASES, case, fingerprint  # noqa: E402

TESTS = {"psi": psi_stat_test, "jensenshannon": jensenshannon_stat_test}


def main() -> None:
    golden = {"evidently": evidently.__version__, "cases": {}}
    for name, kind in CASES:
        reference, current = case(name)
        column_type = ColumnType.Numerical if kind == "numeric" else ColumnType.Categorical
        tests = dict(TESTS)
        if kind == "numeric":
            tests["wasserstein"] = wasserstein_stat_test
        values = {
            test: float(stat(reference, current, column_type, None).drift_score)
            for test, stat in tests.items()
        }
        golden["cases"][name] = {
            "kind": kind,
            "fingerprint": fingerprint(reference, current),
            "values": values,
        }
        print(name, values)
    path = ROOT / "tests" / "drift" / "evidently_golden.json"
    path.write_text(json.dumps(golden, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
