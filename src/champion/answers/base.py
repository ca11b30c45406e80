"""What every answer shares: the base model, and the error bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Answer", "ErrorAnswer", "ErrorDetail", "OipErrorAnswer"]


class Answer(BaseModel):
    """An answer of the HTTP API: exactly these fields (the document says so, and the
    server checks it as it answers), read back by the client as the same class."""

    # Frozen: an answer is a record of what the server said.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorDetail(Answer):
    code: str = Field(examples=["NotFound"], description="The error's class in champion.errors.")
    message: str = Field(examples=["Unknown model 'recs'. Models: churn."])


class ErrorAnswer(Answer):
    """Every /v1 error: the class and a message that names the field and the value."""

    error: ErrorDetail


class OipErrorAnswer(Answer):
    """Every /v2 error, as the Open Inference Protocol has it."""

    error: str = Field(examples=["Unknown input 'age'; the model takes the inputs tenure."])
