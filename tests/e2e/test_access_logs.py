"""A token never reaches the server's log, even at debug level."""

from __future__ import annotations

import httpx
import pytest

from champion import Client
from champion.access import digest
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=3)
def test_tokens_never_appear_in_the_server_log(served: Services, settings: Settings) -> None:
    _, secret = served.tokens.create("ops", ["admin"], actor="tests")
    wrong = "champ_" + "x" * 43
    server = ServerProcess(
        settings.home,
        settings.database_url,
        log_level="debug",
        env={"CHAMPION_ACCESS_LOG": "true"},  # a line per request, with its ids: no token
    )
    server.start()
    try:
        with Client(server.url, token=secret) as client:
            client.predict("churn", [ROW])
            client.set_alias("churn", "challenger", 1, reason="check the log")
        for token in (wrong, secret + "x", "not a bearer token"):
            response = httpx.get(
                server.url + "/v1/models", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401
            assert token not in response.text
        response = httpx.post(  # a model failure is logged with its traceback
            server.url + "/v1/endpoints/churn/predict",
            json={"instances": [ROW | {"tenure": "3"}]},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status_code == 422
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Application startup complete" in log  # the log was written
    assert "champion.access" in log
    for leaked in (secret, secret[6:], wrong, digest(secret)):
        assert leaked not in log
