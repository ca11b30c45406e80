"""The demo, end to end, on the real datasets, against a real server (smaller user count)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from champion.alerts.tables import alerts
from champion.demo.drift import NEWCOMERS
from champion.demo.run import run_demo
from champion.events.tables import feedback, predictions, shadow_predictions

DATA = Path(__file__).parents[2] / "data"


def test_demo_serves_logs_and_joins_feedback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(home=str(tmp_path / "demo"), data=str(DATA), users=60)
    printed = capsys.readouterr().out
    out = " ".join(printed.split())  # undo the console's line wrapping
    assert "switched without a restart" in out and "Demo finished" in out
    assert "Interleaving experiment (team-draft)" in out and "sign test p" in out
    assert "challenger in shadow" in out
    # Newcomers drift the attrition inputs; the alert reaches the demo's webhook receiver.
    assert "Webhook received: [warning] open: attrition-drift on endpoint attrition" in out
    report = tmp_path / "demo" / "reports" / "attrition-drift.html"
    # A long path is folded across lines: compare without any whitespace.
    assert f"Driftreport:{report}" in "".join(printed.split()) and report.is_file()
    assert report.with_suffix(".json").is_file()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'demo' / 'champion.db'}")
    with engine.connect() as conn:
        served: dict[str, int] = dict(
            conn.execute(
                sa.select(
                    predictions.c.model + "/" + sa.cast(predictions.c.version, sa.String),
                    sa.func.count(),
                ).group_by(predictions.c.model, predictions.c.version)
            ).all()
        )
        shadowed = conn.execute(
            sa.select(sa.func.count()).select_from(shadow_predictions)
        ).scalar_one()
        labels = conn.execute(
            sa.select(sa.func.count()).select_from(feedback).where(feedback.c.kind == "label")
        ).scalar_one()
        fired = conn.execute(sa.select(alerts.c.rule, alerts.c.state, alerts.c.deliveries)).all()
    engine.dispose()
    # recs/1 answered alone (60) and every interleaved visit (520 users x 3); the winner then
    # served 60 more requests; attrition/1 answered while attrition/2 ran in shadow.
    assert served["recs/1"] in (60 + 1560, 60 + 1560 + 60)
    assert served["recs/1"] + served.get("recs/2", 0) == 60 + 1560 + 60
    # The holdout came one customer a request, the newcomers 50 a request.
    scored = 1409 + NEWCOMERS // 50
    assert served["attrition/1"] == scored
    # A shadow call is skipped, never queued, while the (slower) challenger is busy.
    assert 0.8 * scored <= shadowed <= scored
    assert labels == 1409
    assert [(rule, state) for rule, state, _ in fired] == [("attrition-drift", "open")]
    assert "sent" in fired[0][2].values()


def test_item_knn_beats_popularity_offline(tmp_path: Path) -> None:
    import yaml

    from champion.demo.movielens import load_split
    from champion.demo.rankers import write_item_knn_ranker, write_popularity_ranker

    split = load_split(DATA)
    metrics = [
        yaml.safe_load((writer(split, tmp_path / name, "test") / "champion.yaml").read_text())[
            "lineage"
        ]["metrics"]["hit_rate_at_10"]
        for name, writer in (("pop", write_popularity_ranker), ("knn", write_item_knn_ranker))
    ]
    assert metrics[1] > metrics[0] + 0.05


def test_simulated_users_click_by_position_and_relevance() -> None:
    import numpy as np

    from champion.demo.users import react

    shown = [f"m{i}" for i in range(10)]
    first = react(shown, {"m0", "m9"}, np.random.default_rng(3))
    assert first == react(shown, {"m0", "m9"}, np.random.default_rng(3))  # seeded
    rng = np.random.default_rng(0)
    top = bottom = 0
    for _ in range(4000):
        clicked = {r.item for r in react(shown, {"m0", "m9"}, rng) if r.kind == "click"}
        top += "m0" in clicked
        bottom += "m9" in clicked
    # Examination 1/log2(p + 1): position 1 is always looked at, position 10 ~29 % of the time.
    assert abs(top / 4000 - 0.9) < 0.03
    assert abs(bottom / 4000 - 0.9 / np.log2(11)) < 0.03
