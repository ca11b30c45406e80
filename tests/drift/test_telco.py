"""Real data: new customers (tenure <= 12 months) against long-tenure ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from champion.drift import ReferenceProfile, compare_table
from champion.drift.evidently import compare_evidently

CSV = Path(__file__).parents[2] / "data" / "telco-churn" / "Telco-Customer-Churn.csv"


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return pd.read_csv(CSV).drop(columns=["customerID", "Churn"])


def test_total_charges_blanks_are_missing_numbers(telco: pd.DataFrame) -> None:
    column = ReferenceProfile.from_frame(telco).column("TotalCharges")
    assert column.kind == "numeric" and column.missing == 11


def test_new_customers_drift_in_tenure_related_columns(telco: pd.DataFrame) -> None:
    long_tenure, new = telco[telco["tenure"] > 12], telco[telco["tenure"] <= 12]
    result = compare_table(ReferenceProfile.from_frame(long_tenure), new)
    drifted = set(result.drifted_columns)
    assert {"tenure", "TotalCharges", "Contract"} <= drifted
    assert "gender" not in drifted and "PhoneService" not in drifted
    assert result.columns[0].column in {"tenure", "TotalCharges", "Contract"}


def test_evidently_mode_agrees_on_the_tenure_columns(telco: pd.DataFrame) -> None:
    long_tenure, new = telco[telco["tenure"] > 12], telco[telco["tenure"] <= 12]
    telco_numeric = {"TotalCharges": pd.to_numeric(telco["TotalCharges"], errors="coerce")}
    reference = long_tenure.assign(TotalCharges=telco_numeric["TotalCharges"][long_tenure.index])
    current = new.assign(TotalCharges=telco_numeric["TotalCharges"][new.index])
    result = compare_evidently(reference, current)
    for name in ("tenure", "TotalCharges", "Contract"):
        assert result.columns[name].drifted, name
    assert not result.columns["gender"].drifted


def test_random_halves_of_the_customers_do_not_drift(telco: pd.DataFrame) -> None:
    half = telco.sample(frac=0.5, random_state=0)
    rest = telco.drop(half.index)
    assert compare_table(ReferenceProfile.from_frame(half), rest).drifted_columns == []


def test_contract_and_internet_service_separate_the_segments(telco: pd.DataFrame) -> None:
    long_tenure, new = telco[telco["tenure"] > 12], telco[telco["tenure"] <= 12]
    result = compare_table(ReferenceProfile.from_frame(long_tenure), new)
    # New customers are on monthly contracts, without the add-ons long-standing ones bought.
    assert {"Contract", "OnlineSecurity", "TechSupport"} <= set(result.drifted_columns)
