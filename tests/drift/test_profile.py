from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from champion.drift.profile import EXACT_LIMIT, SKETCH_SIZE, ColumnProfile, ReferenceProfile
from champion.errors import InvalidInput


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::17] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "count": rng.poisson(3.0, n),
            "plan": pd.Series(rng.choice(["basic", "plus", "-"], n)).replace("-", None),
            "flag": rng.choice([0, 1], n),
        }
    )


@pytest.mark.parametrize("n", [500, 50_000])
def test_profile_round_trips_through_json(n: int) -> None:
    profile = ReferenceProfile.from_frame(_frame(n))
    text = json.dumps(profile.to_dict())
    again = ReferenceProfile.from_dict(json.loads(text))
    assert again.to_dict() == profile.to_dict()
    assert json.dumps(again.to_dict()) == text


def test_small_columns_are_exact_and_large_ones_sketched() -> None:
    small = ColumnProfile.from_values("x", np.arange(EXACT_LIMIT, dtype=float))
    large = ColumnProfile.from_values("x", np.arange(EXACT_LIMIT + 1, dtype=float))
    assert small.exact and small.values is not None and len(small.values) == EXACT_LIMIT
    assert not large.exact and large.values is None
    assert large.quantiles is not None and len(large.quantiles) == SKETCH_SIZE


def test_building_keeps_no_raw_data_beyond_the_bounds() -> None:
    profile = ReferenceProfile.from_frame(_frame(200_000))
    stored = json.dumps(profile.to_dict())
    assert len(stored) < 100_000
    column = profile.column("x")
    assert column.values is None and column.n_values == 200_000 - len(range(0, 200_000, 17))


def test_kinds_missing_shares_and_histograms() -> None:
    frame = _frame(3_000)
    profile = ReferenceProfile.from_frame(frame)
    kinds = {c.name: c.kind for c in profile.columns}
    assert kinds == {
        "x": "numeric",
        "count": "numeric",
        "plan": "categorical",
        "flag": "categorical",
    }
    x = profile.column("x")
    assert x.missing_share == pytest.approx(frame["x"].isna().mean())
    assert x.bin_counts is not None and int(x.bin_counts.sum()) == x.n_values
    assert x.bin_edges is not None and len(x.bin_edges) == 9
    assert x.std == pytest.approx(frame["x"].dropna().std(ddof=0))
    plan = profile.column("plan")
    assert plan.frequencies is not None and set(plan.frequencies) == {"basic", "plus"}


def test_kind_override_and_numbers_stored_as_text() -> None:
    frame = pd.DataFrame({"charges": ["29.85", " ", "1889.5", "108.15"], "code": [1, 2, 3, 4]})
    profile = ReferenceProfile.from_frame(frame, kinds={"code": "categorical"})
    charges = profile.column("charges")
    assert charges.kind == "numeric" and charges.missing == 1
    assert profile.column("code").kind == "categorical"


def test_sketch_cdf_is_close_to_the_empirical_cdf() -> None:
    values = np.random.default_rng(3).lognormal(size=100_000)
    sketch = ColumnProfile.from_values("x", values)
    points = np.quantile(values, np.linspace(0.001, 0.999, 200))
    empirical = np.searchsorted(np.sort(values), points, side="right") / len(values)
    assert np.abs(sketch.cdf(points) - empirical).max() < 1e-3


def test_errors_name_the_field_and_value() -> None:
    with pytest.raises(InvalidInput, match=r"kind of column 'x' must be .* Got 'text' instead"):
        ColumnProfile.from_values("x", [1.0, 2.0], "text")  # type: ignore[arg-type]  # the point
    with pytest.raises(InvalidInput, match=r"Unknown columns \['nope'\]"):
        ReferenceProfile.from_frame(pd.DataFrame({"a": [1.0]}), kinds={"nope": "numeric"})
    with pytest.raises(InvalidInput, match="no finite numeric value"):
        ColumnProfile.from_values("x", [None, None], "numeric")
    with pytest.raises(InvalidInput, match="format 99"):
        ReferenceProfile.from_dict({"format": 99, "rows": 0, "columns": []})
