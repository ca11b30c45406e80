"""Pipeline endpoints through the async client, on the ASGI app."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from champion import AsyncClient
from champion.api import create_app
from champion.errors import InvalidInput
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def test_stages_are_set_served_and_read_back(
    services: Services, settings: Settings, model_folder: ModelFolders
) -> None:
    for model in ("risk", "offer"):
        services.registry.register(
            model_folder(model), model=model, actor="t", aliases_to_set=("champion",)
        )
    stages: list[dict[str, Any]] = [
        {"name": "risk", "model": "risk@champion"},
        {
            "name": "offer",
            "model": "offer@champion",
            "inputs": {"risk": "risk.risk", "contract": "request.contract"},
        },
    ]

    async def main() -> None:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with AsyncClient("http://127.0.0.1", transport=transport) as client:
                with pytest.raises(InvalidInput, match=r"Stage .offer.*inputs\.risk"):
                    bad = [stages[0], stages[1] | {"inputs": {"risk": "risk.score"}}]
                    await client.set_stages("churn", bad)
                endpoint = await client.set_stages("churn", stages, reason="two stages")
                assert endpoint.policy == "stages" and endpoint.serving == ["risk/1", "offer/1"]
                answer = await client.predict("churn", [ROW], unit="u1")
                assert answer.predictions == [{"offer": 1}]
                assert answer.stages is not None
                assert [(s.stage, s.model, s.version) for s in answer.stages] == [
                    ("risk", "risk", 1),
                    ("offer", "offer", 1),
                ]
                writer = app.state.champion.writer
                deadline = time.monotonic() + 10
                while writer.pending() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                events = await client.request_events("churn", answer.request_id)
                assert [e.stage for e in events.events] == ["risk", "offer"]
                stats = await client.stage_stats("churn")
                assert [(s.stage, s.versions[0].requests) for s in stats.stages] == [
                    ("risk", 1),
                    ("offer", 1),
                ]
                moves = await client.stage_drift("churn", window="1h", buckets=1)
                assert moves.moved_first is None
                assert [s.stage for s in moves.stages] == ["risk", "offer"]

    asyncio.run(main())
