"""Flavors: how each kind of model folder is loaded and called."""

from __future__ import annotations

from champion.plugins import Registry
from champion.registry.flavors.base import Flavor, Loaded, LoadOptions, RankedItem
from champion.registry.flavors.mlflow import MlflowFlavor
from champion.registry.flavors.onnx import OnnxFlavor
from champion.registry.flavors.python import PythonFlavor
from champion.registry.flavors.sklearn import SklearnFlavor

__all__ = [
    "Flavor",
    "LoadOptions",
    "Loaded",
    "MlflowFlavor",
    "OnnxFlavor",
    "PythonFlavor",
    "RankedItem",
    "SklearnFlavor",
    "default_flavors",
]


def default_flavors() -> Registry[Flavor]:
    """A fresh registry: built-in flavors and those of ``champion.flavors`` entry points."""
    flavors: Registry[Flavor] = Registry("flavor", "flavors", "champion.flavors")
    flavors.register(PythonFlavor.name, PythonFlavor())
    flavors.register(SklearnFlavor.name, SklearnFlavor())
    flavors.register(OnnxFlavor.name, OnnxFlavor())
    flavors.register(MlflowFlavor.name, MlflowFlavor())
    return flavors
