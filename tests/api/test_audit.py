from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from champion.services import Services


def _actions(client: TestClient, **params: object) -> list[tuple[str, str]]:
    response = client.get("/v1/audit", params=params)
    assert response.status_code == 200, response.text
    return [(r["action"], r["target"]) for r in response.json()["records"]]


def test_the_audit_log_filters_by_model_endpoint_action_and_time(
    served: Services, client: TestClient
) -> None:
    served.registry.set_alias("churn", "challenger", 1, actor="ana", reason="try it")
    assert _actions(client, model="churn") == [
        ("alias.set", "churn"),
        ("endpoint.configure", "churn"),
        ("alias.set", "churn"),
        ("version.register", "churn/1"),
        ("model.create", "churn"),
    ]  # the model's own records, and the endpoint that serves it (details.model)
    assert _actions(client, model="recs") == [
        ("endpoint.configure", "recs"),
        ("alias.set", "recs"),
        ("version.register", "recs/1"),
        ("model.create", "recs"),
    ]
    assert _actions(client, endpoint="churn") == [("endpoint.configure", "churn")]
    assert _actions(client, action="alias.") == [
        ("alias.set", "churn"),
        ("alias.set", "recs"),
        ("alias.set", "churn"),
    ]
    assert _actions(client, action="alias.set", actor="ana") == [("alias.set", "churn")]
    latest = client.get("/v1/audit", params={"limit": 1}).json()["records"][0]
    assert (latest["actor"], latest["reason"], latest["details"]["alias"]) == (
        "ana",
        "try it",
        "challenger",
    )
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _actions(client, since=future) == []
    assert len(_actions(client, until=future)) == 9
    naive = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert len(_actions(client, since=naive)) == 9  # a time without a zone is UTC


def test_the_audit_log_pages_newest_first(served: Services, client: TestClient) -> None:
    seen: list[int] = []
    params: dict[str, object] = {"limit": 4}
    while True:
        body = client.get("/v1/audit", params=params).json()
        seen += [r["id"] for r in body["records"]]
        if body["next"] is None:
            break
        params["before"] = body["next"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 8
    response = client.get("/v1/audit", params={"limit": 0})
    assert response.status_code == 422 and "limit" in response.json()["error"]["message"]
