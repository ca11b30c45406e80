"""The peer: the simplest idiomatic FastAPI endpoint serving the same model, no logging."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skops.io
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = Path(__file__).parent / "build" / "champion_model" / "model.skops"
FEATURES = [f"f{i}" for i in range(20)]

model = skops.io.load(MODEL, trusted=skops.io.get_untrusted_types(file=MODEL))
app = FastAPI()


class Body(BaseModel):
    instances: list[dict[str, float]]


@app.post("/predict")
def predict(body: Body) -> dict[str, list[list[float]]]:
    x = np.array([[row[f] for f in FEATURES] for row in body.instances])
    return {"predictions": model.predict_proba(x).tolist()}
