from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from champion.drift import ReferenceProfile, compare_table
from champion.errors import InvalidInput, UnknownName
from tests.drift.tables import SHIFTED, synthetic_table


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    return ReferenceProfile.from_frame(synthetic_table(100_000, seed=1))


def test_default_configuration_flags_exactly_the_shifted_columns(
    reference: ReferenceProfile,
) -> None:
    result = compare_table(reference, synthetic_table(100_000, seed=2, shifted=True))
    assert sorted(result.drifted_columns) == sorted(SHIFTED)
    assert result.share_drifted == pytest.approx(8 / 25)
    severities = [c.severity for c in result.columns]
    assert result.columns[:8] == tuple(c for c in result.columns if c.drifted)
    assert severities[:8] == sorted(severities[:8], reverse=True)


def test_unshifted_repeats_raise_at_most_one_false_column(reference: ReferenceProfile) -> None:
    # 20k-row current windows (not 100k) keep the 20 repeats fast; smaller windows are the
    # noisier case for the distance verdicts, so this is the harder test.
    false_columns = sum(
        len(compare_table(reference, synthetic_table(20_000, seed=100 + i)).drifted_columns)
        for i in range(20)
    )
    assert false_columns <= 1


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def test_chunked_windows_match_the_whole_window(reference: ReferenceProfile) -> None:
    current = synthetic_table(30_000, seed=3, shifted=True)
    whole = compare_table(reference, current)
    chunked = compare_table(reference, _chunks(current, 4_000))
    assert chunked == whole


def test_bounded_sample_still_finds_the_shifts(reference: ReferenceProfile) -> None:
    current = synthetic_table(60_000, seed=4, shifted=True)
    result = compare_table(reference, _chunks(current, 5_000), sample_size=5_000)
    assert sorted(result.drifted_columns) == sorted(SHIFTED)


def _null_columns(n: int, columns: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(columns)})


def test_benjamini_hochberg_keeps_a_wide_small_table_quiet() -> None:
    # 100 unshifted columns of 500 rows use KS; uncorrected, about 5 would alarm per table.
    reference = ReferenceProfile.from_frame(_null_columns(500, 100, seed=10))
    raw = corrected = bonferroni = 0
    for repeat in range(5):
        current = _null_columns(500, 100, seed=20 + repeat)
        raw += len(compare_table(reference, current, correction="none").drifted_columns)
        corrected += len(compare_table(reference, current).drifted_columns)
        bonferroni += len(
            compare_table(reference, current, correction="bonferroni").drifted_columns
        )
    assert raw >= 10
    assert corrected <= 1 and bonferroni <= 1


def test_small_windows_use_p_value_tests_and_still_detect() -> None:
    reference = ReferenceProfile.from_frame(synthetic_table(5_000, seed=5))
    result = compare_table(reference, synthetic_table(800, seed=6, shifted=True))
    methods = {c.column: c.method for c in result.columns}
    assert methods["normal_0"] == "ks" and methods["category_40"] == "chi2"
    assert {"lognormal_1", "category_12", "category_40"} <= set(result.drifted_columns)
    assert all(c.p_adjusted is not None and c.p_adjusted >= c.p_value for c in result.columns)  # type: ignore[operator]  # both set for p-value tests


def test_tests_and_thresholds_are_selectable_per_column(reference: ReferenceProfile) -> None:
    current = synthetic_table(20_000, seed=7)
    result = compare_table(
        reference,
        current,
        tests={"normal_0": "ks", "category_5": "chi2", "uniform_0": "psi"},
        thresholds={"uniform_0": 0.2},
    )
    assert result.column("normal_0").method == "ks"
    assert result.column("category_5").method == "chi2"
    assert result.column("uniform_0").method == "psi"
    assert result.column("uniform_0").threshold == 0.2
    assert not result.column("normal_0").drifted


def test_errors_name_the_field(reference: ReferenceProfile) -> None:
    current = synthetic_table(1_000, seed=8)
    with pytest.raises(InvalidInput, match=r"'correction' parameter .* Got 'holm' instead"):
        compare_table(reference, current, correction="holm")  # type: ignore[arg-type]  # the point
    with pytest.raises(UnknownName, match="Unknown detector 'kss'"):
        compare_table(reference, current, tests={"normal_0": "kss"})
    with pytest.raises(InvalidInput, match="Unknown column 'nope'"):
        compare_table(reference, current, tests={"nope": "ks"})
    with pytest.raises(InvalidInput, match=r"lacks reference columns \['normal_0'\]"):
        compare_table(reference, current.drop(columns="normal_0"))
