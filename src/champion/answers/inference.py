"""Answers of the Open Inference Protocol (``/v2``), as KServe and Triton define them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from champion.answers.base import Answer

__all__ = [
    "InferAnswer",
    "InferParameters",
    "ModelMetadata",
    "ModelReady",
    "OutputTensor",
    "ServerLive",
    "ServerMetadata",
    "ServerReady",
    "TensorSpec",
]


class ServerMetadata(Answer):
    name: str = Field(examples=["champion"])
    version: str
    extensions: list[str] = Field(examples=[["binary_tensor_data"]])


class ServerLive(Answer):
    live: bool


class ServerReady(Answer):
    ready: bool


class TensorSpec(Answer):
    name: str = Field(examples=["tenure"])
    datatype: str = Field(examples=["FP64"])
    shape: list[int] = Field(examples=[[-1]])


class ModelMetadata(Answer):
    name: str
    versions: list[str]
    platform: str = Field(examples=["champion"])
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]


class ModelReady(Answer):
    name: str
    ready: bool


class InferParameters(Answer):
    request_id: str = Field(description="The id to send feedback with (POST /v1/feedback).")


class OutputTensor(Answer):
    name: str
    datatype: str
    shape: list[int]
    data: list[Any] | None = Field(
        default=None, description="Absent when the tensor is sent as binary after the JSON."
    )
    parameters: dict[str, int] | None = Field(
        default=None, description="binary_data_size for a binary tensor."
    )


class InferAnswer(Answer):
    model_name: str
    model_version: str
    id: str
    parameters: InferParameters
    outputs: list[OutputTensor]
