"""champion experiment show on an interleaving experiment: read per unit, p never 0."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from champion.services import Services
from tests.api.test_interleaving_units import _interleave, _visit
from tests.cli.conftest import CommandLine
from tests.conftest import ModelFolders


def test_show_reads_an_interleaving_experiment_per_unit(
    served: Services, client: TestClient, model_folder: ModelFolders, champion: CommandLine
) -> None:
    _interleave(served, client, model_folder, "recs")
    set_up = champion(
        "experiment", "set", "recs", "--goal", "interleaving", "--method", "interleaving",
        "--interleaving-test", "sign", "--min-sample", "5",
    )  # fmt: skip
    assert set_up.returncode == 0, set_up.stderr
    # every user clicks the challenger's items and never the champion's
    visits = [(f"u{n}", 1.0, 0.0) for n in range(24) for _ in range(2)]
    _visit(client, "recs", visits, np.random.default_rng(0))

    shown = champion("experiment", "show", "recs")
    assert shown.returncode == 0, shown.stderr
    text = shown.text
    assert "Interleaving, per unit (each unit counts once)" in text
    assert "prefer recs/2" in text and "+1.000" in text and "48 / 0 / 0" in text
    assert "< 0.0001" in text and "sign" in text  # the sign test over 24 units: p = 2**-23
    assert "Decision: promote" in text

    wrong = champion(
        "experiment", "set", "recs", "--goal", "interleaving", "--interleaving-test", "z"
    )
    assert wrong.returncode == 2 and "interleaving_test" in wrong.stderr
