"""Drift, performance, references and alerts through the async client, on the ASGI app."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from champion import AsyncClient
from champion.api import create_app
from champion.errors import InvalidInput, NotFound
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.drift.traffic import customers, rows


def test_drift_performance_references_and_alerts(
    services: Services, settings: Settings, model_folder: ModelFolders, tmp_path: Path
) -> None:
    services.registry.register(model_folder("scorer"), model="churn", actor="tests")
    services.endpoints.set("churn", "single", {"version": "churn/1"}, actor="tests")
    reference = tmp_path / "train.csv"
    customers(2000, seed=1).to_csv(reference, index=False)

    async def main() -> None:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with AsyncClient("http://127.0.0.1", transport=transport) as client:
                with pytest.raises(NotFound, match="churn/1"):
                    await client.get_reference("churn", 1)
                stored = await client.put_reference("churn", 1, reference, reason="training data")
                assert stored.inputs == ["tenure", "charges", "contract"]
                assert (await client.get_reference("churn", "1")).rows == 2000

                served = rows(customers(300, seed=2, shift=1.0))
                ids = [
                    (await client.predict("churn", served[i : i + 50])).request_id
                    for i in range(0, 300, 50)
                ]
                await client.feedback_batch(
                    [{"request_id": r, "kind": "label", "label": 1} for r in ids]
                )
                writer = app.state.champion.writer
                deadline = time.monotonic() + 10
                while writer.pending() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)

                drift = await client.drift("churn", window="1h", tests={"charges": "psi"})
                assert {"tenure", "contract"} <= set(drift.drifted_columns)
                methods = {c.column: c.method for c in drift.columns}
                assert methods["charges"] == "psi"
                timeline = await client.drift_timeline("churn", window="30m", buckets=2)
                assert [b.rows for b in timeline.buckets] == [0, 300]
                performance = await client.performance("churn", window="1h", bucket="30m")
                assert performance.labelled == 6 and performance.version == "churn/1"

                with pytest.raises(InvalidInput, match="'metric'"):
                    await client.put_alert_rule(
                        "bad", endpoint="churn", metric="vibes", threshold=1.0
                    )
                rule = await client.put_alert_rule(
                    "churn-drift", endpoint="churn", metric="drift_share", threshold=0.2,
                    window="1h", severity="critical", reason="watch it",
                )  # fmt: skip
                assert rule.severity == "critical"
                assert [r.name for r in await client.list_alert_rules()] == ["churn-drift"]
                assert (await client.get_alert_rule("churn-drift")).threshold == 0.2
                [opened] = await client.evaluate_alerts()
                assert (opened.rule, opened.state) == ("churn-drift", "open")
                assert [a.id for a in await client.list_alerts(state="open")] == [opened.id]
                assert await client.list_alerts(state="resolved") == []
                await client.delete_alert_rule("churn-drift", reason="done")
                with pytest.raises(NotFound, match="Unknown alert rule 'churn-drift'"):
                    await client.get_alert_rule("churn-drift")

    asyncio.run(main())
