"""The end-to-end demo on MovieLens and the Telco churn table (``champion demo``)."""

from __future__ import annotations

from champion.demo.run import run_demo

__all__ = ["run_demo"]
