from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from champion.drift import QualityCounter, ReferenceProfile, check_frame
from champion.errors import InvalidInput

REFERENCE = ReferenceProfile.from_frame(
    pd.DataFrame(
        {
            "tenure": [1, 12, 30, 72, 5],
            "charges": [20.0, None, 80.5, 110.0, 55.0],
            "contract": ["month", "year", "month", "two_year", "year"],
        }
    )
)


def test_each_check_names_the_row_column_and_reason() -> None:
    frame = pd.DataFrame(
        {
            "tenure": [3, 80, "abc", None, True, np.inf],
            "charges": [None, 10.0, 50.0, 50.0, 50.0, 50.0],
            "contract": ["month", "weekly", "year", [1], "month", " "],
        }
    )
    report = check_frame(frame, REFERENCE)
    found = {(i.row, i.column, i.check) for i in report.issues()}
    assert found == {
        (1, "tenure", "range"),
        (1, "charges", "range"),
        (1, "contract", "category"),
        (2, "tenure", "type"),
        (3, "tenure", "missing"),
        (3, "contract", "type"),
        (4, "tenure", "type"),
        (5, "tenure", "type"),
        (5, "contract", "missing"),
    }
    # 'charges' had a missing value in the reference: missing is allowed there.
    assert report.counts["charges"]["missing"] == 0
    assert report.bad_rows == [1, 2, 3, 4, 5] and report.share_bad == pytest.approx(5 / 6)
    reasons = report.reasons()
    assert "tenure: 80 is above the reference maximum 72" in reasons[1]
    assert "charges: 10.0 is below the reference minimum 20" in reasons[1]
    assert reasons[1][-1].startswith("contract: 'weekly' was never seen in the reference")


def test_split_quarantines_bad_rows_with_their_reasons() -> None:
    frame = pd.DataFrame({"tenure": [3, 99], "charges": [30.0, 30.0], "contract": ["month", "x"]})
    clean, quarantined = check_frame(frame, REFERENCE).split(frame)
    assert clean.index.tolist() == [0] and quarantined.index.tolist() == [1]
    assert "above the reference maximum" in quarantined["quality_reasons"].iloc[0]
    assert "'x' was never seen" in quarantined["quality_reasons"].iloc[0]


def test_margin_widens_the_range_and_checks_can_be_chosen() -> None:
    frame = pd.DataFrame({"tenure": [75], "charges": [30.0], "contract": ["nope"]})
    assert check_frame(frame, REFERENCE, margin=0.1, checks=["range"]).bad_rows == []
    assert check_frame(frame, REFERENCE, checks=["range"]).bad_rows == [0]
    with pytest.raises(InvalidInput, match=r"Unknown quality checks \['spelling'\]"):
        check_frame(frame, REFERENCE, checks=["spelling"])  # type: ignore[list-item]  # the point
    with pytest.raises(InvalidInput, match="'margin' parameter of check_frame"):
        check_frame(frame, REFERENCE, margin=-1.0)


def test_an_absent_column_makes_every_row_bad() -> None:
    frame = pd.DataFrame({"tenure": [3, 4], "contract": ["month", "year"], "extra": [1, 2]})
    report = check_frame(frame, REFERENCE)
    assert report.missing_columns == ("charges",) and report.extra_columns == ("extra",)
    assert report.bad_rows == [0, 1]
    assert report.reasons()[0] == ["the data lacks reference columns 'charges'"]


def test_the_counter_adds_up_chunks_exactly() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(-5, 90, 3000),
            "charges": rng.normal(60, 40, 3000),
            "contract": rng.choice(["month", "year", "weekly"], 3000),
        }
    )
    whole = check_frame(frame, REFERENCE)
    counter = QualityCounter(REFERENCE)
    for start in range(0, 3000, 450):
        counter.update(frame.iloc[start : start + 450])
    assert counter.rows == 3000 and counter.bad_rows == len(whole.bad_rows)
    assert counter.counts == {k: dict(v) for k, v in whole.counts.items()}
    assert counter.to_json()["share_bad"] == pytest.approx(whole.share_bad)
