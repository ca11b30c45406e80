from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from champion.automation import PipelineSpec, load_pipeline
from champion.drift.quality import screen
from champion.errors import InvalidInput
from champion.registry.manifest import FieldSpec
from tests.automation.trainers import spec


def test_a_yaml_pipeline_resolves_its_source_beside_the_file(tmp_path: Path) -> None:
    raw = spec(Path("incoming")).to_json()
    raw["source"]["path"] = "incoming/*.csv"
    file = tmp_path / "p.yaml"
    file.write_text(yaml.safe_dump(raw))
    loaded = load_pipeline(file)
    assert loaded.source.path == str(tmp_path / "incoming" / "*.csv")
    assert loaded.features == ["tenure", "charges", "plan"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "gone"}, "target 'gone' is not a column of the schema"),
        ({"metrics": ["auc", "ndcg"]}, "unknown metric 'ndcg'"),
        ({"gates": [{"metric": "f1", "at_least": 0.5}]}, "gate metric 'f1' is not in metrics"),
        ({"gates": [{"metric": "auc"}]}, "needs at_least or at_most"),
        ({"schedule": {"every": "6h", "cron": "0 * * * *"}}, "exactly one of 'every'"),
        ({"schedule": {"every": "soon"}}, "schedule.every: Value error, The .schedule.every. must"),
        ({"train": {"entry": "no-colon"}}, "train.entry: String should match pattern"),
        ({"name": "bad name"}, "Invalid pipeline name 'bad name'"),
        ({"automation": "yolo"}, "automation: Input should be 'manual', 'approve' or 'auto'"),
    ],
)
def test_bad_pipelines_name_the_field(change: dict[str, object], message: str) -> None:
    raw = {**spec(Path("/in")).to_json(), **change}
    with pytest.raises(InvalidInput, match=message):
        PipelineSpec.parse(raw)


def test_the_training_digest_ignores_how_and_when_a_version_is_deployed() -> None:
    base = spec(Path("/in"))
    assert (
        base.training_digest()
        == spec(Path("/in"), automation="manual", deploy=None).training_digest()
    )
    assert base.training_digest() != spec(Path("/in"), metrics=["auc"], gates=[]).training_digest()


def test_screening_converts_typed_and_text_cells_alike() -> None:
    fields = [
        FieldSpec(name="n", type="integer"),
        FieldSpec(name="x", type="number"),
        FieldSpec(name="flag", type="boolean", nullable=True),
        FieldSpec(name="s", type="string"),
    ]
    frame = pd.DataFrame(
        {
            "n": [1, "2", 3.0, 4.5, True],
            "x": [1.5, "nan", 2, "1e3", 0.0],
            "flag": ["TRUE", "0", None, "maybe", False],
            "s": ["a", "b", "c", 7, "e"],
        }
    )
    result = screen(frame, fields)
    assert result.accepted.to_pydict() == {
        "n": [1, 3],
        "x": [1.5, 2.0],
        "flag": [True, None],
        "s": ["a", "c"],
    }
    reasons = {r.row: r.reasons for r in result.rejected}
    assert reasons == {
        1: ("x: 'nan' is not a finite number",),
        3: (
            "n: 4.5 is not an integer",
            "flag: 'maybe' is not a boolean (true, false, 1 or 0)",
            "s: 7 is not a string",
        ),
        4: ("n: True is not an integer",),
    }
