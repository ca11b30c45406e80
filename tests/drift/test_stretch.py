"""Stretches of served data: merged from parts, and stored, without changing the answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats

from champion.drift.comparison import compare_table, compare_windows
from champion.drift.profile import ColumnProfile, ReferenceProfile
from champion.drift.stretch import accumulate, merge, merge_generators, stretch_from_state
from champion.drift.window import ColumnAccumulator, merge_windows
from tests.drift.traffic import customers


def _reference() -> ReferenceProfile:
    return ReferenceProfile.from_frame(customers(2000, seed=1), {"contract": "categorical"})


def test_merged_parts_compare_as_the_whole_window() -> None:
    reference = _reference()
    parts = [customers(300, seed=2), customers(500, seed=3, shift=0.5), customers(200, seed=4)]
    generators = merge_generators(reference)
    total = accumulate(reference, [(1, parts[0])])
    for part in parts[1:]:
        total = merge(reference, total, accumulate(reference, [(1, part)]), generators)
    whole = pd.concat(parts, ignore_index=True)
    expected = compare_table(reference, whole, tests={"tenure": "ks"})
    found = compare_windows(reference, total.windows, total.rows, tests={"tenure": "ks"})
    assert found == expected and (total.rows, total.predictions) == (1000, 3)
    tenure = found.column("tenure")
    scipy = stats.ks_2samp(customers(2000, seed=1)["tenure"], whole["tenure"])
    assert tenure.method == "ks" and tenure.p_value == float(scipy.pvalue)


def test_a_stretch_round_trips_through_json_exactly() -> None:
    reference = _reference()
    frame = customers(400, seed=5, shift=0.3)
    frame.loc[::7, "charges"] = None
    frame.loc[::11, "contract"] = "weekly"  # a category the reference never saw
    stretch = accumulate(reference, [(4, frame)])
    state = json.loads(json.dumps(stretch.to_state()))
    again = stretch_from_state(reference, state, stretch.rows, stretch.predictions)
    assert again.quality.to_json() == stretch.quality.to_json()
    assert again.quality.counts["contract"]["category"] > 0
    for name, window in stretch.windows.items():
        stored = again.windows[name]
        assert (stored.count, stored.missing, stored.frequencies) == (
            window.count,
            window.missing,
            window.frequencies,
        )
        for a, b in ((stored.sample, window.sample), (stored.bin_counts, window.bin_counts)):
            assert (a is None and b is None) or (
                a is not None and b is not None and np.array_equal(a, b)
            )
    assert compare_windows(reference, again.windows, again.rows) == compare_windows(
        reference, stretch.windows, stretch.rows
    )


def test_merging_sampled_windows_keeps_a_uniform_sample_of_the_union() -> None:
    profile = ColumnProfile.from_values("x", np.arange(10.0))
    zeros = ColumnAccumulator(profile, sample_size=100, seed=0).update(np.zeros(1000)).window()
    ones = ColumnAccumulator(profile, sample_size=100, seed=1).update(np.ones(3000)).window()
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(400):
        merged = merge_windows(zeros, ones, rng, sample_size=100)
        assert merged.sample is not None and len(merged.sample) == 100 and merged.sampled
        assert (merged.count, int(merged.bin_counts.sum())) == (4000, 4000)  # type: ignore[union-attr]
        shares.append(merged.sample.mean())
    # Each merged sample holds a hypergeometric number of ones: mean 75 of 100, sd about 4.3.
    assert abs(np.mean(shares) - 0.75) < 0.01
    assert 0.03 < np.std(shares) < 0.06


def test_merging_is_reproducible_and_exact_below_the_sample_size() -> None:
    profile = ColumnProfile.from_values("x", np.arange(10.0))
    a = ColumnAccumulator(profile, sample_size=50).update(np.arange(30.0)).window()
    b = ColumnAccumulator(profile, sample_size=50).update(np.arange(30.0, 60.0)).window()
    first = merge_windows(a, b, np.random.default_rng(3), sample_size=50)
    second = merge_windows(a, b, np.random.default_rng(3), sample_size=50)
    assert first.sample is not None and second.sample is not None
    assert np.array_equal(first.sample, second.sample) and len(first.sample) == 50
    exact = merge_windows(a, b, np.random.default_rng(3), sample_size=60)
    assert exact.sample is not None and np.array_equal(exact.sample, np.arange(60.0))
