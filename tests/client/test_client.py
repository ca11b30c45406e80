"""The client against the real app: a live server (Client) and the ASGI app (AsyncClient)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from champion import AsyncClient, Client
from champion.api import create_app
from champion.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from champion.services import Services
from champion.settings import Settings
from tests.conftest import LiveServer, ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def test_the_client_covers_registry_endpoints_serving_feedback_and_audit(
    served: Services,
    settings: Settings,
    model_folder: ModelFolders,
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CHAMPION_TOKEN", raising=False)
    settings.allow_code_uploads = True  # the fixture is a python-flavor version
    folder = model_folder("constant")
    (folder / "score.txt").write_text("0.75")
    with Client(live_server.url) as client:
        version = client.register(folder, model="churn", aliases=["challenger"], reason="new")
        assert (version.version, version.aliases) == (2, ["challenger"])
        assert [m.name for m in client.list_models()] == ["churn", "recs"]
        assert client.get_model("churn").version_count == 2
        assert client.get_version("churn", "challenger").version == 2
        moved = client.set_alias("churn", "champion", 2, reason="better")
        assert moved.aliases == ["challenger", "champion"]
        client.remove_alias("churn", "challenger")
        client.set_endpoint("churn", "single", {"version": "churn/2"}, reason="pin")
        assert [c.config_version for c in client.history("churn")] == [1, 2]
        assert client.get_endpoint("churn").serving == ["churn/2"]
        answer = client.predict("churn", [ROW], unit="u1")
        assert (answer.version, answer.arm, answer.predictions) == (
            2,
            "champion",
            [{"score": 0.75}],
        )
        assert answer.fallback_from is None
        ranked = client.rank("recs", unit="u1", k=2)
        assert [i.item for i in ranked.items] == ["a", "b"]
        receipt = client.feedback(ranked.request_id, "click", item="a", event_id="e1")
        assert (receipt.accepted, receipt.duplicates) == (1, 0)
        batch = client.feedback_batch(
            [{"request_id": ranked.request_id, "kind": "click", "item": "a", "event_id": "e1"}]
        )
        assert (batch.accepted, batch.duplicates) == (0, 1)
        assert client.interleaving("recs") == []
        assert client.stats("churn").endpoint == "churn"
        page = client.audit(model="churn", action="alias.", limit=2)
        assert [r.action for r in page.records] == ["alias.remove", "alias.set"]
        assert page.next is not None
        assert client.health().status == "ok"
        with pytest.raises(NotFound, match=r"Unknown model 'nope'\. Models: churn, recs\."):
            client.get_model("nope")
        with pytest.raises(InvalidInput, match=r"instances\[0\]\.tenure"):
            client.predict("churn", [ROW | {"tenure": "3"}])
        with pytest.raises(NotFound):
            client.get_model("../../v1/health")  # one path segment: no climbing


def test_the_client_sends_the_token_from_the_environment(
    served: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, admin = served.tokens.create("ops", ["admin"], actor="tests")
    _, reader = served.tokens.create("viewer", ["read"], actor="tests")
    with LiveServer(settings) as server:
        with Client(server.url, token="") as anonymous, pytest.raises(Unauthenticated):
            anonymous.list_models()
        monkeypatch.setenv("CHAMPION_TOKEN", reader)
        with Client(server.url) as client:
            assert len(client.list_models()) == 2
            with pytest.raises(Forbidden, match="needs the 'admin' scope"):
                client.set_alias("churn", "challenger", 1)
        with Client(server.url, token=admin) as client:
            client.set_alias("churn", "challenger", 1)
            assert client.audit(limit=1).records[0].actor == "ops"


def test_the_async_client_against_the_asgi_app(served: Services, settings: Settings) -> None:
    async def main() -> None:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with AsyncClient("http://127.0.0.1", transport=transport) as client:
                assert [m.name for m in await client.list_models()] == ["churn", "recs"]
                answer = await client.predict("churn", [ROW])
                assert answer.predictions == [{"score": 0.25}]
                receipt = await client.feedback(answer.request_id, "label", label=1)
                assert receipt.accepted == 1
                with pytest.raises(NotFound, match="Unknown endpoint 'nope'"):
                    await client.predict("nope", [ROW])

    asyncio.run(main())
