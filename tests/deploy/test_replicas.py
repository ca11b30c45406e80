"""deploy/: two replicas behind HAProxy on one PostgreSQL database and one S3 bucket, started
by deploy/replicas.py. Both serve what was registered through the balancer; one SIGKILLed
under load is dropped by the balancer, every request after that succeeds, and every
feedback event acknowledged meanwhile is in the database (issue 14)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from champion.events.tables import feedback
from tests.conftest import _reset_postgres
from tests.fixtures.environment import cannot
from tests.fixtures.faults import until
from tests.fixtures.replicas import DEPLOY, HEADERS, SCRIPT, Load, ReplicaSet, haproxy_missing
from tests.registry.folders import ROW, pack, sklearn_folder


@pytest.fixture
def replica_set(tmp_path: Path, postgres_url: str | None) -> Iterator[ReplicaSet]:
    if haproxy_missing():
        cannot("HAProxy is not installed: apt-get install haproxy (.ci/run does).")
    if postgres_url is None:
        cannot("PostgreSQL not available: set CHAMPION_TEST_POSTGRES_URL (.ci/run does).")
    if importlib.util.find_spec("moto") is None:
        cannot("moto's S3 server is not installed: pip install -e '.[test]'")
    _reset_postgres(postgres_url)
    replicas = ReplicaSet(
        tmp_path / "set", 2, "--store", "s3", "--database-url", postgres_url
    ).start()
    try:
        yield replicas
    finally:
        replicas.stop()


def _register_and_serve(url: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
        upload = client.post(
            "/v1/models/churn/versions",
            files={"file": ("v.tar.gz", pack(sklearn_folder(tmp_path / "v1")), "application/gzip")},
            data={"aliases": "champion"},
        )
        assert upload.status_code == 201, upload.text
        body = {"policy": "single", "params": {"version": "churn@champion"}}
        assert client.put("/v1/endpoints/churn", json=body).status_code == 200


@pytest.mark.slow(seconds=60)
def test_two_replicas_behind_haproxy_serve_survive_a_sigkill_and_stop_on_ctrl_c(
    replica_set: ReplicaSet, postgres_url: str, tmp_path: Path
) -> None:
    # Started again in the same folder, the script shows the running set and changes nothing.
    again = subprocess.run(replica_set.command, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"Already running (supervisor pid {replica_set.state['pid']})")
    assert replica_set.balancer in again.stdout

    balancer = replica_set.balancer

    def predictions(name: str) -> float:
        return replica_set.metric(name, "champion_predictions_total", endpoint="churn")

    assert replica_set.state["artifacts"] == "s3://champion/artifacts"
    _register_and_serve(balancer, tmp_path)

    # Both replicas answer, each with the version's blobs from the bucket in its own cache,
    # and the caller's X-Request-ID comes back through the balancer.
    with httpx.Client(base_url=balancer, headers=HEADERS, timeout=10) as client:
        for i in range(20):
            response = client.post(
                "/v1/endpoints/churn/predict",
                json={"instances": [ROW]},
                headers={"X-Request-ID": f"order-{i}"},
            )
            assert response.status_code == 200, response.text
            assert response.headers["X-Request-ID"] == f"order-{i}"
    served = {name: predictions(name) for name in replica_set.replicas}
    assert sum(served.values()) == 20
    assert all(count > 0 for count in served.values()), served
    for name in replica_set.replicas:
        home = replica_set.folder / name
        assert list((home / "cache" / "artifacts").glob("??/*")), name
        assert not (home / "artifacts").exists()  # nothing shared through a folder

    # Drained, replica-2 gets no new requests; made ready again, it is back.
    assert replica_set.ask("set server champion/replica-2 state drain").strip() == ""
    assert replica_set.servers()["replica-2"] == "DRAIN"
    drained = predictions("replica-2")
    with httpx.Client(base_url=balancer, headers=HEADERS, timeout=10) as client:
        for _ in range(10):
            assert client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).is_success
    assert predictions("replica-2") == drained
    replica_set.ask("set server champion/replica-2 state ready")
    assert replica_set.servers()["replica-2"] == "UP"

    # SIGKILL replica-1 under load: HAProxy marks it down; every request sent after that
    # succeeds, and no acknowledged feedback is lost.
    with Load(balancer, "churn", ROW) as load:
        until("load before the kill", lambda: load.count() > 40)
        replica_set.kill("replica-1")
        until(
            "HAProxy to mark replica-1 down",
            lambda: replica_set.servers()["replica-1"].startswith("DOWN"),
            seconds=30,
        )
        down_at = time.monotonic()
        before = load.count()
        until("load after the drop", lambda: load.count() > before + 100)
    after = [(kind, status) for started, kind, status in load.results if started > down_at]
    assert len(after) >= 100
    assert {status for _, status in after} <= {200, 201}, after
    assert load.acknowledged
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(feedback.c.event_id)).scalars())
    engine.dispose()
    assert load.acknowledged <= stored

    # No replica left: the balancer answers 503 at once, in champion's error shape.
    replica_set.kill("replica-2")
    until("HAProxy to mark replica-2 down", lambda: replica_set.servers()["replica-2"] != "UP")
    until(
        "the balancer to have no replica",
        lambda: httpx.get(f"{balancer}/v1/health/live", timeout=5).status_code == 503,
        seconds=30,
    )
    response = httpx.get(f"{balancer}/v1/health/live", timeout=5)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "Unavailable"
    assert "No champion replica is ready" in response.json()["error"]["message"]

    # Ctrl-C stops every process of the set.
    pids = [replica_set.pid(name) for name in ("haproxy", "moto", *replica_set.replicas)]
    assert replica_set.stop() == 0
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not (replica_set.folder / "replicas.json").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--replicas", "0"], "error: --replicas 0: at least 1.\n"),
        (["--port", "{busy}"], "error: Port {busy} on 127.0.0.1 is in use; choose other ports.\n"),
    ],
)
def test_the_script_refuses_bad_arguments_with_exit_2_naming_them(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--dir", str(tmp_path / "set"), "--stats-port", "0",
             "--first-replica-port", "0", *(a.format(busy=port) for a in arguments)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert (done.returncode, done.stderr) == (2, message.format(busy=port))
    assert not (tmp_path / "set" / "replicas.json").exists()


def test_the_compose_files_name_the_same_replicas_and_pass_haproxy_and_promtool(
    tmp_path: Path,
) -> None:
    if haproxy_missing() or shutil.which("promtool") is None:
        cannot("HAProxy or promtool is not installed: apt-get install haproxy prometheus.")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    replicas = sorted(name for name in compose["services"] if name.startswith("replica-"))
    servers = (DEPLOY / "haproxy" / "compose-servers.cfg").read_text()
    assert re.findall(r"^\s+server (\S+) \1:8000 ", servers, re.M) == replicas
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg"), "-f",
         str(DEPLOY / "haproxy" / "compose-servers.cfg")],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr

    # Prometheus's config, with its token file where this machine has one.
    config = yaml.safe_load((DEPLOY / "prometheus" / "compose.yml").read_text())
    champion = config["scrape_configs"][0]
    assert champion["static_configs"][0]["targets"] == [f"{r}:8000" for r in replicas]
    token = tmp_path / "prometheus-token"
    token.write_text("champ_x")
    champion["authorization"]["credentials_file"] = str(token)
    shutil.copy(DEPLOY / "prometheus" / "champion-rules.yml", tmp_path)
    (tmp_path / "compose.yml").write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "compose.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
