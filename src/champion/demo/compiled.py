"""The attrition models on the compiled path, where it verifies.

Each attrition version is compiled to ONNX (``Registry.compile``) and checked on the holdout
customers, rows neither model learnt from; a compiled version that agrees takes the alias
of the one it was compiled from, so the endpoint serves it, and one that disagrees is not
registered: its scikit-learn version keeps serving, and the demo says why. Without the onnx
extra nothing is compiled and the demo says so.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import pandas as pd
from rich.console import Console
from rich.table import Table

from champion.demo.attrition import Holdout
from champion.services import Services

__all__ = ["Served", "can_compile", "compile_attrition"]


@dataclass(frozen=True)
class Served:
    """The version an attrition alias serves after compiling."""

    alias: str
    number: int
    compiled: bool


def can_compile() -> bool:
    """True when the onnx extra (onnxruntime and skl2onnx) is installed."""
    return all(importlib.util.find_spec(name) for name in ("onnxruntime", "skl2onnx"))


def compile_attrition(
    services: Services, holdout: Holdout, console: Console, aliases: tuple[str, ...]
) -> dict[str, Served]:
    """Compile the version behind each of ``aliases`` of ``attrition``; say what serves."""
    registry = services.registry
    served = {}
    table = Table("alias", "version", "serves", "max difference", "why", title="Compiled path")
    sample = pd.DataFrame.from_records(holdout.rows)
    for alias in aliases:
        source = registry.resolve(f"attrition@{alias}")
        if not can_compile():
            served[alias] = Served(alias, source.number, compiled=False)
            why = "needs the onnx extra: pip install 'champion[onnx]'"
            table.add_row(alias, str(source.key), "scikit-learn", "-", why)
            continue
        result = registry.compile(
            str(source.key), actor="demo", sample=sample, aliases_to_set=(alias,)
        )
        if result.version is None:
            served[alias] = Served(alias, source.number, compiled=False)
            table.add_row(alias, str(source.key), "scikit-learn", "-", result.reason)
            continue
        served[alias] = Served(alias, result.version.number, compiled=True)
        table.add_row(
            alias,
            f"{result.version.key} (from {source.key})",
            "ONNX",
            f"{result.max_difference:.2g}",
            result.reason,
        )
    console.print(table)
    return served
