"""deploy/prometheus and deploy/grafana name only metrics a running server exports; the rules
pass promtool, and a real Prometheus scraping a real server evaluates every rule and query."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from champion.server_process import free_port
from champion.services import Services
from champion.settings import Settings
from tests.conftest import LiveServer
from tests.fixtures.environment import cannot

DEPLOY = Path(__file__).parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "champion-rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "champion-rules.test.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "champion.json"
ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}

# Series Prometheus makes itself for every scrape target: not the server's to export.
SCRAPE_SERIES = frozenset({"up"})
# Sample names per metric type, from a family's name (the text parser strips _total).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"bool", "offset", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, grouping clauses, ranges, numbers, keywords and function names are gone.

    Examples
    --------
    >>> sorted(metric_names('sum by (le) (rate(a_bucket{x=~"1|2"}[5m])) / on(i) b > 0.5e1'))
    ['a_bucket', 'b']
    """
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*(?![\w:])(?!\s*\()", expr):
        name = match.group()
        if name.lower() not in KEYWORDS:
            names.add(name)
    return names


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _dashboard_queries() -> list[str]:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _variable_metrics() -> set[str]:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    found = set()
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((\w+), *(\w+)\)", variable["query"]["query"])
            assert match is not None, variable["query"]
            found.add(match.group(1))
    return found


def _exported(client: TestClient) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def test_every_alerting_rule_names_metrics_the_server_exports(client: TestClient) -> None:
    exported = _exported(client) | SCRAPE_SERIES
    alerts = set()
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, f"{rule['alert']}: {sorted(names - exported)} not exported"
        alerts.add(rule["alert"])
    # What an operator must hear about (issue 14): each has a rule.
    assert {
        "ChampionHttpErrorRate",
        "ChampionPredictionLatencyP99",
        "ChampionEventsDropped",
        "ChampionNotReady",
        "ChampionLeaderCount",
        "ChampionDrift",
    } <= alerts


def test_every_dashboard_query_names_metrics_the_server_exports(client: TestClient) -> None:
    exported = _exported(client)
    queries = _dashboard_queries()
    assert len(queries) >= 20
    for query in queries:
        names = metric_names(query)
        assert names, query
        assert names <= exported, f"{query}: {sorted(names - exported)} not exported"
    assert _variable_metrics() <= exported


def test_the_rules_the_scrape_config_and_the_rules_unit_tests_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        cannot("promtool is not installed (Debian: apt-get install prometheus)")
        return
    for command in (
        ["check", "rules", str(RULES)],
        ["check", "config", str(CONFIG)],
        # Leader count, dropped events, 5xx ratio, readiness and p99 on made-up series.
        ["test", "rules", str(RULE_TESTS)],
    ):
        done = subprocess.run(
            [promtool, *command], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


class _Prometheus:
    """Debian's Prometheus scraping ``target`` every second, with champion's rules."""

    def __init__(self, folder: Path, target: str) -> None:
        folder.mkdir(parents=True)
        config = yaml.safe_load(CONFIG.read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(RULES)]
        config["scrape_configs"][0]["static_configs"] = [{"targets": [target]}]
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Prometheus:
        binary = shutil.which("prometheus")
        assert binary is not None
        with open(self.folder / "prometheus.log", "wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.folder / 'data'}",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                ],
                stdout=log,
                stderr=log,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=5)
        body = orjson.loads(response.content)
        assert body["status"] == "success", body
        return body["data"]

    def wait(self, what: str, check: Any, seconds: float = 60) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            try:
                found = check()
                if found:
                    return found
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log = (self.folder / "prometheus.log").read_text()[-3000:]
                pytest.fail(f"Timed out waiting for {what}; Prometheus said:\n{log}")
            time.sleep(0.5)


@pytest.fixture
def prometheus_binary() -> Iterator[None]:
    if shutil.which("prometheus") is None:
        cannot("prometheus is not installed (Debian: apt-get install prometheus)")
    yield


@pytest.mark.slow(seconds=15)
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])  # the scrape needs no other
def test_a_real_prometheus_scrapes_a_server_and_evaluates_every_rule_and_query(
    prometheus_binary: None, served: Services, settings: Settings, tmp_path: Path
) -> None:
    with LiveServer(settings) as server:
        headers = {"X-Champion-Request": "1"}
        for _ in range(5):
            response = httpx.post(
                server.url + "/v1/endpoints/churn/predict",
                json={"instances": [ROW]},
                headers=headers,
            )
            assert response.is_success
        target = server.url.removeprefix("http://")
        with _Prometheus(tmp_path / "prometheus", target) as prometheus:
            # Until then its API answers 503 with a line of text.
            prometheus.wait(
                "Prometheus to be ready",
                lambda: httpx.get(prometheus.url + "/-/ready", timeout=5).status_code == 200,
            )
            prometheus.wait(
                "the scrape target to be up",
                lambda: [
                    t for t in prometheus.api("targets")["activeTargets"] if t["health"] == "up"
                ],
            )

            def evaluated() -> list[dict[str, Any]]:
                rules = [
                    rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]
                ]
                done = [r for r in rules if not r["lastEvaluation"].startswith("0001")]
                return rules if rules and len(done) == len(rules) else []

            rules = prometheus.wait("every rule to be evaluated", evaluated)
            assert {rule["name"] for rule in rules} == {rule["alert"] for rule in _rules()}
            for rule in rules:
                assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))

            served_now = prometheus.api(
                "query", query='sum(champion_predictions_total{job="champion"})'
            )["result"]
            assert float(served_now[0]["value"][1]) == 5
            for query in _dashboard_queries():
                concrete = (
                    query.replace("$__rate_interval", "1m")
                    .replace("$instance", ".*")
                    .replace("$endpoint", ".*")
                )
                prometheus.api("query", query=concrete)  # a PromQL error fails here
