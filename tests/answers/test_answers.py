"""The answer models: exact, frozen, and the same for the server's document and the client."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import champion.answers
from champion.answers import Answer, PredictAnswer, ReferenceAnswer

PREDICTED = {
    "request_id": "r1",
    "endpoint": "churn",
    "model": "churn",
    "version": 2,
    "arm": "challenger",
    "fallback_from": None,
    "predictions": [{"label": "yes"}],
}


def test_every_answer_is_exact_and_frozen() -> None:
    models = [getattr(champion.answers, name) for name in champion.answers.__all__]
    for model in models:
        assert issubclass(model, Answer), model
        assert model.model_config.get("frozen"), model
    # The performance buckets carry the metrics of the model's kind beside their own fields.
    allowing = [m.__name__ for m in models if m.model_config.get("extra") != "forbid"]
    assert allowing == ["PerformanceBucket"]


def test_a_field_the_model_does_not_know_is_refused_by_name() -> None:
    # A server and a client of different versions disagree loudly, not silently.
    with pytest.raises(ValidationError, match="colour"):
        PredictAnswer.model_validate(PREDICTED | {"colour": "red"})
    answer = PredictAnswer.model_validate(PREDICTED)
    assert answer.model_dump(mode="json") == PREDICTED  # the JSON the server sent
    with pytest.raises(ValidationError, match="frozen"):
        answer.version = 3  # type: ignore[misc]  # what the test shows is refused


def test_a_missing_field_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="rows"):
        ReferenceAnswer.model_validate(
            {"model": "churn", "version": 1, "source": "train.csv", "created_at": "x",
             "created_by": "t", "inputs": [], "outputs": [], "columns": []}
        )  # fmt: skip
