from __future__ import annotations

import pytest

from champion import audit
from champion.db import read
from champion.errors import Conflict, InvalidInput, NotFound
from champion.registry import VersionKey
from champion.services import Services
from tests.conftest import ModelFolders
from tests.drift.traffic import customers, register_scorer


def test_registration_profiles_the_reference_file_with_the_models_outputs(
    services: Services, model_folder: ModelFolders
) -> None:
    register_scorer(services, model_folder, customers(2000, seed=1))
    stored = services.references.get(VersionKey("churn", 1))
    assert stored.rows == 2000 and stored.source == "reference.csv in the version folder"
    assert stored.input_columns == ["tenure", "charges", "contract"]
    assert stored.output_columns == (
        "output.label",
        "output.probabilities.0",
        "output.probabilities.1",
    )
    kinds = {c.name: c.kind for c in stored.profile.columns}
    assert kinds["contract"] == "categorical" and kinds["output.probabilities.1"] == "numeric"
    assert stored.profile.column("output.label").frequencies is not None
    with read(services.engine) as conn:
        actions = [r.action for r in audit.list_audit(conn, target="churn/1")]
    assert actions == ["reference.set", "version.register"]


def test_a_reference_the_model_cannot_score_refuses_the_whole_registration(
    services: Services, model_folder: ModelFolders
) -> None:
    folder = model_folder("scorer")
    customers(100, seed=1).drop(columns="contract").to_csv(folder / "reference.csv", index=False)
    with pytest.raises(InvalidInput, match=r"lacks the signature's inputs \['contract'\]"):
        services.registry.register(folder, model="churn", actor="tests")
    customers(100, seed=1).assign(tenure="x").to_csv(folder / "reference.csv", index=False)
    with pytest.raises(InvalidInput, match="could not score its reference data"):
        services.registry.register(folder, model="churn", actor="tests")
    assert services.registry.list_models() == []


def test_compute_later_once_and_replace_only_when_asked(
    services: Services, model_folder: ModelFolders, tmp_path: object
) -> None:
    services.registry.register(model_folder("scorer"), model="churn", actor="tests")
    with pytest.raises(NotFound, match="run: champion drift reference churn/1 DATA"):
        services.references.get(VersionKey("churn", 1))
    stored = services.references.compute("churn/1", customers(500, seed=2), actor="alice")
    assert stored.rows == 500 and stored.created_by == "alice"
    with pytest.raises(Conflict, match="already has a reference profile"):
        services.references.compute("churn/1", customers(500, seed=3), actor="alice")
    again = services.references.compute(
        "churn/1", customers(700, seed=3), actor="bob", replace=True
    )
    assert again.rows == 700 and again.created_by == "bob"
    with pytest.raises(NotFound, match="Unknown version churn/9"):
        services.references.get(VersionKey("churn", 9))
