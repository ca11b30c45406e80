"""Automation: the rollout controller and the actions it (or a person) takes on experiments."""

from __future__ import annotations

from champion.automation.controller import ControllerLook, RolloutController
from champion.automation.rollout import Rollout

__all__ = ["ControllerLook", "Rollout", "RolloutController"]
