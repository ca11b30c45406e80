from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from champion.serving.assignment import BUCKETS, bucket


@given(st.text(max_size=40), st.text(max_size=40))
def test_bucket_is_in_range_and_repeatable(salt: str, unit: str) -> None:
    assert 0 <= bucket(salt, unit) < BUCKETS
    assert bucket(salt, unit) == bucket(salt, unit)


# Each example starts an interpreter (about half a second): a few examples of many units each.
@settings(max_examples=4, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdefgh0123456789-", min_size=1, max_size=12), min_size=20, max_size=80
    )
)
@pytest.mark.slow(seconds=5)
def test_bucket_is_the_same_in_another_process(units: list[str]) -> None:
    # A fresh interpreter has a different hash() seed: the assignment must not depend on it.
    code = (
        "import sys; from champion.serving.assignment import bucket; "
        "print(' '.join(str(bucket('exp', u)) for u in sys.argv[1:]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *units],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "random"},
    )
    assert out.stdout.split() == [str(bucket("exp", u)) for u in units]


def test_bucketing_units_loads_none_of_the_request_path() -> None:
    # Every process that buckets units (the analysis, the controller) imports this: the serving
    # package loads its request path, endpoint table and shadows only when they are asked for.
    code = (
        "import sys; from champion.serving import bucket; bucket('exp', 'u'); "
        "print(' '.join(m for m in sys.modules if m.startswith('champion.serving.') "
        "or m == 'sqlalchemy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["champion.serving.assignment"]


def test_buckets_are_uniform() -> None:
    counts = [0] * 10
    for i in range(20_000):
        counts[bucket("salt", f"user-{i}") // 1000] += 1
    assert stats.chisquare(counts).pvalue > 0.001


def test_salt_changes_the_assignment() -> None:
    same = sum(bucket("a", f"u{i}") == bucket("b", f"u{i}") for i in range(1000))
    assert same < 10
