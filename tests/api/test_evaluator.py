"""The server's alert evaluator: its worker process starts only for a round with a rule."""

from __future__ import annotations

import multiprocessing

from champion.api.evaluator import AlertEvaluator
from champion.metrics import Metrics
from champion.services import Services


def test_a_round_without_a_rule_starts_no_worker_process(services: Services) -> None:
    evaluator = AlertEvaluator(services.settings, services.clock, Metrics(), services.alerts)
    before = set(multiprocessing.active_children())
    try:
        evaluator.evaluate()
        assert set(multiprocessing.active_children()) <= before
    finally:
        evaluator.close()
