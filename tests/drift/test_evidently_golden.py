"""Evidently mode against Evidently 0.7's own results (see benchmarks/evidently_golden.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from champion.drift.evidently import run_test
from tests.drift.evidently_cases import CASES, case, fingerprint

GOLDEN = json.loads((Path(__file__).parent / "evidently_golden.json").read_text())


def test_the_golden_file_was_recorded_with_evidently_0_7() -> None:
    assert GOLDEN["evidently"].startswith("0.7.")
    assert sorted(GOLDEN["cases"]) == sorted(name for name, _ in CASES)


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_psi_js_and_wasserstein_equal_evidentlys(name: str, kind: str) -> None:
    reference, current = case(name)
    expected = GOLDEN["cases"][name]
    assert fingerprint(reference, current) == expected["fingerprint"], "samples differ"
    for test, value in expected["values"].items():
        got = run_test(test, reference, current, kind)  # type: ignore[arg-type]  # from CASES
        assert got.statistic == pytest.approx(value, abs=1e-9, rel=0), test
