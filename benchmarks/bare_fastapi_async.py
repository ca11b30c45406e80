"""The fastest idiomatic FastAPI peer: an ``async def`` handler that parses the raw body with
pydantic, calls the model inline (no thread-pool hop) and answers with orjson; no logging.
The same model and body as bare_fastapi.py, whose ``def`` handler pays a thread-pool hop."""

from __future__ import annotations

import numpy as np
import orjson
from bare_fastapi import FEATURES, Body, model
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@app.post("/predict")
async def predict(request: Request) -> Response:
    body = Body.model_validate_json(await request.body())
    x = np.array([[row[f] for f in FEATURES] for row in body.instances])
    answer = {"predictions": model.predict_proba(x).tolist()}
    return Response(orjson.dumps(answer), media_type="application/json")
