"""Answers of the registry: models, versions, their pages."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from champion.answers.base import Answer

__all__ = ["ModelAnswer", "ModelListAnswer", "ModelSummary", "VersionAnswer", "VersionPageAnswer"]


class VersionAnswer(Answer):
    model: str = Field(examples=["churn"])
    version: int = Field(examples=[3])
    kind: str = Field(examples=["classifier"])
    flavor: str = Field(examples=["sklearn"])
    aliases: list[str] = Field(examples=[["champion"]])
    created_at: str = Field(examples=["2026-01-05T12:00:00+00:00"])
    created_by: str
    size_bytes: int
    files: dict[str, str] = Field(description="Relative path to sha256.")
    signature: dict[str, Any]
    lineage: dict[str, Any]


class ModelSummary(Answer):
    name: str = Field(examples=["churn"])
    created_at: str = Field(examples=["2026-01-05T12:00:00+00:00"])
    created_by: str = Field(examples=["alice"])
    latest_version: int | None = Field(examples=[4])
    version_count: int = Field(examples=[4])
    aliases: dict[str, int] = Field(examples=[{"champion": 3, "challenger": 4}])


class ModelListAnswer(Answer):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "models": [
                        {
                            "name": "churn",
                            "created_at": "2026-01-05T12:00:00+00:00",
                            "created_by": "alice",
                            "latest_version": 4,
                            "version_count": 4,
                            "aliases": {"champion": 3, "challenger": 4},
                        }
                    ]
                }
            ]
        }
    )

    models: list[ModelSummary]


class ModelAnswer(ModelSummary):
    versions: list[VersionAnswer] = Field(description="The 10 newest versions, newest first.")
    versions_url: str = Field(examples=["/v1/models/churn/versions"])


class VersionPageAnswer(Answer):
    model: str
    versions: list[VersionAnswer]
    next_cursor: str | None = Field(description="Pass as 'cursor' for the next page.")
