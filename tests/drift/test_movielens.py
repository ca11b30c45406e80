"""Real data: what MovieLens users rated in the late 1990s against 2016-2018."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from champion.drift import ReferenceProfile, compare_table

DATA = Path(__file__).parents[2] / "data" / "movielens-latest-small"


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    ratings = pd.read_csv(DATA / "ratings.csv")
    movies = pd.read_csv(DATA / "movies.csv")
    movies["released"] = pd.to_numeric(
        movies["title"].str.extract(r"\((\d{4})\)\s*$")[0], errors="coerce"
    )
    ratings["year"] = pd.to_datetime(ratings["timestamp"], unit="s").dt.year
    return ratings.merge(movies[["movieId", "released", "genres"]], on="movieId")


def _movies(rows: pd.DataFrame) -> pd.DataFrame:
    """Per rating: the movie's release year, its popularity in the period, the rating."""
    popularity = rows.groupby("movieId")["userId"].transform("count")
    return pd.DataFrame(
        {"released": rows["released"], "popularity": popularity, "rating": rows["rating"]}
    )


def _genres(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (rating, genre) pair: the share of attention each genre gets."""
    return pd.DataFrame({"genre": rows["genres"].str.split("|").explode()})


def test_tastes_and_popularity_drift_across_two_decades(ratings: pd.DataFrame) -> None:
    old = ratings[ratings["year"].between(1996, 1999)]
    new = ratings[ratings["year"].between(2016, 2018)]
    movies = compare_table(ReferenceProfile.from_frame(_movies(old)), _movies(new))
    assert {"released", "popularity"} <= set(movies.drifted_columns)
    assert movies.columns[0].column == "released"  # the most severe: newer films
    genres = compare_table(ReferenceProfile.from_frame(_genres(old)), _genres(new))
    genre = genres.column("genre")
    assert genre.method == "psi" and genre.drifted and 0.1 <= genre.statistic < 0.25
    chi2 = compare_table(
        ReferenceProfile.from_frame(_genres(old)), _genres(new), tests={"genre": "chi2"}
    )
    p_value = chi2.column("genre").p_adjusted
    assert p_value is not None and p_value < 1e-10


def test_two_random_halves_of_one_period_do_not_drift(ratings: pd.DataFrame) -> None:
    recent = ratings[ratings["year"].between(2016, 2018)]
    half = np.random.default_rng(0).random(len(recent)) < 0.5
    first, second = recent[half], recent[~half]
    assert (
        compare_table(ReferenceProfile.from_frame(_movies(first)), _movies(second)).drifted_columns
        == []
    )
    assert (
        compare_table(ReferenceProfile.from_frame(_genres(first)), _genres(second)).drifted_columns
        == []
    )
