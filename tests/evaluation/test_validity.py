"""Decisions, not formulas: seeded Monte Carlo nulls and lifts through the server's own code.

Small versions of ``benchmarks/validity.py``: simulated users with heavy-tailed activity
are served, click, and the rollout controller looks and acts (``auto``) as in a server. In a
null every promotion or rollback naming an arm is a wrong decision; each test states the
bound it checks and how likely a valid method is to meet it (binomial, from SciPy in the
test's docstring).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from benchmarks.scenarios import SCENARIOS, Scenario, classify, pipeline_stages, run_scenario
from benchmarks.simulation import (
    ENDPOINT,
    Outcome,
    Rig,
    Served,
    at_hour,
    outcome_of,
    template_home,
)
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.automation import RolloutController
from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import local_client

BASE = f"/v1/endpoints/{ENDPOINT}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_home(tmp_path_factory.mktemp("validity"))


class HttpRig:
    """The Transport of the harness over the HTTP API: a real app behind a TestClient, and
    a controller on the same database (as the server's own would be)."""

    def __init__(self, client: TestClient, services: Services, clock: FixedClock) -> None:
        self.client = client
        self.clock = clock
        self.state = client.app.state.champion  # type: ignore[attr-defined]  # set by the lifespan
        self.controller = RolloutController(
            services.engine, services.experiments, services.rollout, identity="validity"
        )

    def deploy(self, policy: str, params: dict[str, Any], *, salt: str) -> None:
        body = {"policy": policy, "params": params, "salt": salt}
        assert self.client.put(BASE, json=body).status_code == 200
        self.state.serving.refresh(force=True)

    def start(self, design: dict[str, Any]) -> None:
        response = self.client.put(f"{BASE}/experiment", json=design)
        assert response.status_code == 200, response.text

    def predict(self, visits: Sequence[tuple[str, float, datetime]]) -> list[Served]:
        served = []
        for unit, draw, at in visits:
            self.clock.at = at
            body = {"unit": unit, "instances": [{"draw": draw}]}
            answer = self.client.post(f"{BASE}/predict", json=body).json()
            served.append(Served(answer["request_id"], answer["version"], ()))
        return served

    def rank(self, visits: Sequence[tuple[str, datetime]]) -> list[Served]:
        served = []
        for unit, at in visits:
            self.clock.at = at
            answer = self.client.post(f"{BASE}/rank", json={"unit": unit, "k": 10}).json()
            items = tuple(str(i["item"]) for i in answer["items"])
            served.append(Served(answer["request_id"], answer["version"], items))
        return served

    def feedback(self, events: Sequence[tuple[str, str | None, datetime]]) -> None:
        if not events:
            return
        body = {
            "events": [
                {"request_id": r, "kind": "click", "item": item, "at": at.isoformat()}
                for r, item, at in events
            ]
        }
        assert self.client.post("/v1/feedback/batch", json=body).status_code == 201

    def look(self, hour: int) -> Outcome | None:
        self.clock.at = at_hour(hour)
        self.state.writer.close()  # writes everything queued before the controller reads
        self.state.writer.start()
        self.state.folder.tick()  # as the server's fold loop would have in the hours between
        looks = self.controller.tick()
        self.state.serving.refresh()
        return outcome_of(looks, hour)

    def share(self) -> float | None:
        params = self.client.get(BASE).json()["params"]
        return None if "share" not in params else float(params["share"])


def _settings(home: Path) -> Settings:
    return Settings(home=home, controller=False, scheduler=False, state_poll_seconds=3600)


def _over_http(template: Path, home: Path, scenario: Scenario, seed: int) -> Outcome:
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template, home)
    clock = FixedClock(at_hour(0))
    settings = _settings(home)
    services = Services.open(settings, clock)
    try:
        with local_client(create_app(settings, clock)) as client:
            rig = HttpRig(client, services, clock)
            try:
                return run_scenario(rig, scenario, seed)
            finally:
                rig.controller.close()
    finally:
        services.close()


def _outcomes(template: Path, home: Path, scenario: Scenario, seeds: range) -> list[Outcome]:
    outcomes = []
    for seed in seeds:
        with Rig.fresh(template, home) as rig:
            outcomes.append(run_scenario(rig, scenario, seed))
    return outcomes


def _in_process(template: Path, home: Path, scenario: Scenario, seeds: range) -> list[str]:
    return [classify(scenario, o) for o in _outcomes(template, home, scenario, seeds)]


@pytest.fixture
def quiet_failures() -> Iterator[None]:
    """A failing challenger is logged with its traceback by the serving service: expected."""
    import logging

    logger = logging.getLogger("champion.serving")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


# -- over HTTP -------------------------------------------------------------------------------


@pytest.mark.slow(seconds=7)
def test_aa_canary_with_a_trend_across_two_ramp_steps_is_not_promoted(
    template: Path, tmp_path: Path
) -> None:
    """Identical versions on a canary ramped 10 % → 50 %, with the click rate rising from
    0.10 to 0.25 at the ramp, for everyone (activity LogNormal(0, 0.5)). Pooled over the
    steps the challenger, mostly served after the rise, looks better; stratified by step it
    does not. At alpha = 0.01 a valid analysis promotes in at most 1 % of runs; this seeded
    run may not be promoted."""
    scenario = SCENARIOS["canary-aa-trend"].sized(
        units=1000,
        sigma=0.5,
        mean_visits=4.0,
        hours=24,
        look_hours=4,
        steps=(0.1, 0.5, 1.0),
        step_hours=8,
        step_units=5,
        trend=0.15,
        min_sample=60,
        alpha=0.01,
    )
    outcome = _over_http(template, tmp_path / "home", scenario, seed=0)
    assert outcome.ramps[:2] == [0.1, 0.5], outcome.to_json()  # two steps were served
    assert outcome.decision != "promote", outcome.to_json()


# -- in process ------------------------------------------------------------------------------


@pytest.mark.slow(seconds=15)
def test_interleaving_with_half_the_units_preferring_each_ranker_declares_no_winner(
    template: Path, tmp_path: Path
) -> None:
    """Half the units prefer each ranker (and click with position bias 1 / (1 + rank));
    activity is LogNormal(0, 2). At alpha = 0.01 the fixed-horizon test may name a winner
    in at most 2 of 20 runs; a valid test passes with probability
    binom.cdf(2, 20, 0.01) = 0.999. (benchmarks/validity.py runs the full-size null.)"""
    scenario = SCENARIOS["interleave-split"].sized(
        units=100, mean_visits=3.0, hours=12, look_hours=12, min_sample=30, alpha=0.01
    )
    verdicts = _in_process(template, tmp_path / "home", scenario, range(20))
    assert verdicts.count("undecided") == 20 - verdicts.count("wrong")
    assert verdicts.count("wrong") <= 2, verdicts


@pytest.mark.slow(seconds=6)
def test_aa_with_a_sequential_test_looked_at_every_four_hours(
    template: Path, tmp_path: Path
) -> None:
    """A/A with activity LogNormal(0, 2), the sequential test looked at every 4 hours for a
    day: at most 3 wrong decisions in 20 runs (a valid 5 % test passes with probability
    binom.cdf(3, 20, 0.05) = 0.984)."""
    scenario = SCENARIOS["aa-sequential"].sized(units=200, hours=24, min_sample=40)
    verdicts = _in_process(template, tmp_path / "home", scenario, range(20))
    assert verdicts.count("wrong") <= 3, verdicts


def test_a_lift_is_found_by_interleaving(template: Path, tmp_path: Path) -> None:
    """Every unit prefers the challenger's ranking: the controller promotes it in at least
    9 of 10 runs and never promotes the champion's (the harness can see a real effect)."""
    scenario = SCENARIOS["interleave-lift"].sized(
        units=150, hours=12, look_hours=12, min_sample=50, prefer_share=1.0
    )
    verdicts = _in_process(template, tmp_path / "home", scenario, range(10))
    assert verdicts.count("right") >= 9, verdicts


@pytest.mark.slow(seconds=8)
def test_the_same_reranker_interleaved_with_itself_on_a_pipeline_stage_is_not_promoted(
    template: Path, tmp_path: Path
) -> None:
    """A pipeline endpoint: retrieval hands each unit its own 15 candidates to a re-ranking
    stage that interleaves the same re-ranker registered twice; half the units prefer each
    half of the items, activity LogNormal(0, 2), decided once at 25 interleaved units at
    alpha = 0.01. A valid test names a winner in at most 2 of 20 runs with probability
    binom.cdf(2, 20, 0.01) = 0.999. The full-size null at alpha = 0.05 is in
    benchmarks/validity.py."""
    scenario = SCENARIOS["stage-interleave-identical"].sized(
        units=80, hours=12, look_hours=12, min_sample=25, alpha=0.01
    )
    outcomes = _outcomes(template, tmp_path / "home", scenario, range(20))
    decisions = [o.decision for o in outcomes]
    assert "none" not in decisions, decisions  # every run reached its planned sample
    assert [classify(scenario, o) for o in outcomes].count("wrong") <= 2, decisions


@pytest.mark.slow(seconds=5)
def test_a_better_reranker_on_a_pipeline_stage_is_found_and_promoted_on_that_stage(
    template: Path, tmp_path: Path
) -> None:
    """The same pipeline endpoint, every unit preferring what the challenger re-ranker puts
    first: the controller promotes it in at least 9 of 10 runs and never acts against it,
    and a promotion changes the re-ranking stage only (the harness sees a real effect on a
    stage)."""
    scenario = SCENARIOS["stage-interleave-lift"].sized(
        units=100, hours=12, look_hours=12, min_sample=30, prefer_share=1.0
    )
    verdicts = []
    for seed in range(10):
        with Rig.fresh(template, tmp_path / "home") as rig:
            verdicts.append(classify(scenario, run_scenario(rig, scenario, seed)))
            stages = rig.services.endpoints.get(ENDPOINT).params["stages"]
        if verdicts[-1] == "right":
            retrieve, rerank = stages
            assert retrieve == pipeline_stages({})["stages"][0]
            assert rerank == {
                "name": "rerank",
                "inputs": {"candidates": "retrieve.items"},
                "policy": "blue_green",  # the previous champion stays for an instant rollback
                "params": {"blue": "rerank/1", "green": "rerank/3", "live": "green"},
            }
    assert verdicts.count("right") >= 9, verdicts
    assert "wrong" not in verdicts, verdicts


def test_in_process_and_over_http_the_same_run_reports_the_same_numbers(
    template: Path, tmp_path: Path
) -> None:
    """The benchmark drives champion's services in process; the same seeded run over the
    HTTP API stores the same events and reaches the same report, so the in-process numbers
    are the server's."""
    scenario = SCENARIOS["aa-delta"].sized(units=120, hours=8, look_hours=8, min_sample=10**6)

    def numbers(report: dict[str, Any]) -> list[Any]:
        # Everything but latency, which is measured, not simulated.
        arms = [
            (a["arm"], a["requests"], a["units"], a["metrics"]["click_rate"])
            for a in report["arms"]
        ]
        goal = report["results"][0]
        return [arms, goal["control"], goal["challenger"], goal["p_value"]]

    with Rig.fresh(template, tmp_path / "direct") as rig:
        direct = run_scenario(rig, scenario, seed=3)
        expected = numbers(rig.report())
    home = tmp_path / "http"
    shutil.copytree(template, home)
    clock = FixedClock(at_hour(0))
    settings = _settings(home)
    services = Services.open(settings, clock)
    with local_client(create_app(settings, clock)) as client:
        http = HttpRig(client, services, clock)
        over_http = run_scenario(http, scenario, seed=3)
        found = numbers(client.get(f"{BASE}/experiment").json())
        http.controller.close()
    services.close()
    assert over_http == direct
    assert found == expected
    assert sum(arm[1] for arm in expected[0]) > 100  # requests were served and counted


def test_three_identical_challengers_with_a_fixed_horizon_test(
    template: Path, tmp_path: Path
) -> None:
    """A/A/A/A on ab (three challengers identical to the control), activity LogNormal(0, 1),
    the delta method evaluated once at its planned sample: the family of three comparisons
    may err in at most 3 of 20 runs (a valid 5 % family passes with probability
    binom.cdf(3, 20, 0.05) = 0.984)."""
    scenario = SCENARIOS["multi-aa"].sized(
        units=500, sigma=1.0, hours=24, method="delta", min_sample=40
    )
    outcomes = _outcomes(template, tmp_path / "home", scenario, range(20))
    decisions = [o.decision for o in outcomes]
    assert "none" not in decisions, decisions  # every run reached its planned sample
    assert [classify(scenario, o) for o in outcomes].count("wrong") <= 3, decisions


@pytest.mark.slow(seconds=8)
@pytest.mark.usefixtures("quiet_failures")
def test_a_guardrail_at_its_tolerance_looked_at_every_four_hours(
    template: Path, tmp_path: Path
) -> None:
    """The challenger fails on exactly the error-rate guardrail's tolerance (1 % against a
    champion that never fails), with the goal out of play; the controller looks every
    4 hours for a day under the delta method. A guardrail is tested against its margin, so
    it may roll back in at most 3 of 20 runs (binom.cdf(3, 20, 0.05) = 0.984)."""
    scenario = SCENARIOS["guardrail-at-tolerance-delta"].sized(units=400, hours=24)
    verdicts = _in_process(template, tmp_path / "home", scenario, range(20))
    assert verdicts.count("wrong") <= 3, verdicts
