from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import skops.io
import yaml
from sklearn.linear_model import LogisticRegression

from champion import audit
from champion.db import read
from champion.errors import ArtifactTampered, InvalidInput, NotFound
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders


def test_versions_are_numbered_in_order(services: Services, model_folder: ModelFolders) -> None:
    first = services.registry.register(model_folder("constant"), model="churn", actor="ann")
    second = services.registry.register(model_folder("constant"), model="churn", actor="bob")
    assert (first.number, second.number) == (1, 2)
    assert second.created_by == "bob"
    assert second.lineage["trained_by"] == "tests"
    assert set(second.files) == {"champion.yaml", "constant.py", "score.txt"}


def test_references_resolve_by_number_and_alias(
    services: Services, model_folder: ModelFolders
) -> None:
    services.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("champion",)
    )
    services.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("challenger",)
    )
    assert services.registry.resolve("churn@champion").number == 1
    assert services.registry.resolve("churn/2").aliases == ("challenger",)


def test_alias_moves_are_audited_with_who_and_why(
    services: Services, model_folder: ModelFolders
) -> None:
    for _ in range(2):
        services.registry.register(model_folder("constant"), model="churn", actor="t")
    services.registry.set_alias("churn", "champion", 1, actor="ann", reason="first")
    services.registry.set_alias("churn", "champion", 2, actor="bob", reason="better AUC")
    services.registry.remove_alias("churn", "champion", actor="cy", reason="retire")
    with read(services.engine) as conn:
        records = [
            r for r in audit.list_audit(conn, target="churn") if r.action.startswith("alias")
        ]
    assert [(r.action, r.actor, r.reason, r.details.get("was")) for r in records] == [
        ("alias.remove", "cy", "retire", 2),
        ("alias.set", "bob", "better AUC", 1),
        ("alias.set", "ann", "first", None),
    ]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope@champion", "Unknown model 'nope'"),
        ("churn@champoin", "Unknown alias 'champoin' on model 'churn'. Aliases: champion."),
        ("churn/9", "Unknown version churn/9"),
    ],
)
def test_unknown_references_name_what_is_missing(
    services: Services, model_folder: ModelFolders, ref: str, message: str
) -> None:
    services.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("champion",)
    )
    with pytest.raises(NotFound, match=message.replace(".", r"\.").replace("(", r"\(")):
        services.registry.resolve(ref)


def test_a_tampered_file_is_refused_naming_the_file(
    services: Services, settings: Settings, model_folder: ModelFolders, tmp_path: Path
) -> None:
    version = services.registry.register(model_folder("constant"), model="churn", actor="t")
    blob = settings.artifacts_dir / version.files["score.txt"][:2] / version.files["score.txt"]
    blob.write_text("0.99\n")
    with pytest.raises(
        ArtifactTampered, match=r"churn/1 failed its sha256 check on file 'score\.txt'"
    ):
        services.registry.materialise(version, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"kind": "classifer", "flavor": "python"}, "kind: Input should be 'classifier'"),
        (
            {
                "kind": "classifier",
                "flavor": "python",
                "signature": {"inputs": [{"name": "x", "type": "float"}]},
            },
            r"signature\.inputs\[0\]\.type",
        ),
        ({"kind": "classifier", "flavor": "python", "colour": "red"}, "colour: Extra inputs"),
        (
            {"kind": "classifier", "flavor": "onxx"},
            "Unknown flavor 'onxx'. Known flavors: mlflow, onnx, python",
        ),
        ({"kind": "classifier", "flavor": "python"}, "python flavor needs 'class: module:Class'"),
    ],
)
def test_bad_manifests_are_refused_with_the_field_named(
    services: Services, tmp_path: Path, manifest: dict[str, object], message: str
) -> None:
    (tmp_path / "champion.yaml").write_text(yaml.safe_dump(manifest))
    with pytest.raises((InvalidInput, LookupError), match=message):
        services.registry.register(tmp_path, model="m", actor="t")
    assert services.registry.list_models() == []


def _sklearn_folder(folder: Path, file: str) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    estimator = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    if file.endswith(".skops"):
        skops.io.dump(estimator, folder / file)
    else:
        (folder / file).write_bytes(pickle.dumps(estimator))
    manifest = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": file,
        "signature": {"inputs": [{"name": "a", "type": "number"}, {"name": "b", "type": "number"}]},
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return folder


def test_sklearn_skops_model_loads_with_trusted_types_and_predicts(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    from champion.serving.runtime import Runtime

    services.registry.register(
        _sklearn_folder(tmp_path / "m", "model.skops"), model="lr", actor="t"
    )
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    loaded = runtime.get(services.registry.resolve("lr/1").key)
    outputs = loaded.model.predict([{"a": 2.0, "b": 0.0}, {"a": -2.0, "b": 0.0}])
    assert [o["label"] for o in outputs] == [1, 0]
    assert outputs[0]["probabilities"]["1"] > 0.5
    runtime.close()


def test_plain_pickle_needs_the_trust_flag(services: Services, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="plain pickle"):
        services.registry.register(
            _sklearn_folder(tmp_path / "m", "model.pkl"), model="lr", actor="t"
        )


def test_registration_reports_progress_in_bytes(
    services: Services, model_folder: ModelFolders
) -> None:
    calls: list[tuple[int, int]] = []
    version = services.registry.register(
        model_folder("constant"),
        model="churn",
        actor="t",
        progress=lambda stored, total: calls.append((stored, total)),
    )
    assert len(calls) == len(version.files)
    assert [total for _, total in calls] == [version.size_bytes] * len(calls)
    assert [stored for stored, _ in calls] == sorted(stored for stored, _ in calls)
    assert calls[-1][0] == version.size_bytes
