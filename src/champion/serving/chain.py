"""Running one request through a pipeline endpoint's stages, in order.

Each stage is served exactly as a single-model endpoint is (its policy routes the unit with
the stage's own salt, a failing challenger falls back to the stage's champion, shadows run
off the response path) and logs its own prediction event; this module only builds each
stage's inputs from the request and the earlier stages' outputs, and names the events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from champion.errors import ChampionError, InvalidInput, ModelFailed
from champion.events import PredictionEvent
from champion.registry import VersionKey
from champion.serving.stages import REQUEST, Stage, stage_event_id, stage_under_test
from champion.types import Json

if TYPE_CHECKING:
    from champion.serving.service import Answer

__all__ = ["ChainRequest", "StageAnswer", "StageRecord", "run_stages", "stage_payload"]

T = TypeVar("T")
ServeStage = Callable[[T, str | None, Any, int | None, "StageRecord"], Awaitable["Answer"]]
"""Serves one stage as an endpoint (``ServingService._serve``), its event named by the record."""


@dataclass(frozen=True)
class StageAnswer:
    """What one stage did for a request: the version that answered, in which arm."""

    stage: str
    version: VersionKey
    arm: str
    latency_ms: float
    fallback_from: str | None = None


class ChainRequest:
    """One request through the stages: its id and the arm its tested stage assigned."""

    def __init__(self, request_id: str, stages: Sequence[Stage]) -> None:
        self.request_id = request_id
        self.stages = stages
        self.tested = stage_under_test(stages).name
        self.assigned: tuple[str, int | None, float | None] | None = None
        self.final: Answer | None = None
        self.failed: str | None = None
        """The stage the request failed at, if it failed."""
        self.counted = False
        """Whether that stage's serving counted the failure (a mapping error it never saw)."""

    def record(self, stage: Stage) -> StageRecord:
        event_id = stage_event_id(self.request_id, stage.name, self.stages)
        return StageRecord(stage.name, event_id, self, stage is self.stages[-1])


@dataclass(frozen=True)
class StageRecord:
    """How a stage's prediction event is named: its own id and the stage, and for the last
    stage (the request's event) the arm of the stage under test, so feedback on the request
    credits the arm an experiment compares."""

    stage: str
    event_id: str
    request: ChainRequest
    last: bool

    def relabel(self, event: PredictionEvent) -> PredictionEvent:
        if self.stage == self.request.tested:
            self.request.assigned = (event.arm, event.bucket, event.probability)
        if self.last and self.request.assigned is not None:
            arm, bucket, probability = self.request.assigned
            return event._replace(stage=self.stage, arm=arm, bucket=bucket, probability=probability)
        return event._replace(stage=self.stage)


async def run_stages(
    request: ChainRequest,
    actives: Sequence[T],
    kinds: Sequence[str | None],
    unit: str | None,
    payload: Any,
    k: int | None,
    serve: ServeStage[T],
) -> list[StageAnswer]:
    """Serve each stage in order; return what each did (the last stage's answer is
    ``request.final``).

    In a ranking, a ranker stage before the last hands on its ``k`` best items (default: the
    request's k) and a classifier or regressor stage answers the one instance it is given."""
    answers: dict[str, Answer] = {}
    done: list[StageAnswer] = []
    for stage, active, kind in zip(request.stages, actives, kinds, strict=True):
        last = stage is request.stages[-1]
        ranker = kind == "ranker"
        stage_k = None if k is None or not ranker else k if last else (stage.k or k)
        try:
            inputs = stage_payload(stage, payload, k is not None, answers)
            if k is not None and not ranker:
                inputs = [inputs]
        except ChampionError as exc:
            request.failed = stage.name
            raise stage_error(stage.name, exc) from None
        try:
            answer = await serve(active, unit, inputs, stage_k, request.record(stage))
        except ChampionError as exc:
            request.failed, request.counted = stage.name, True
            raise stage_error(stage.name, exc) from None
        answers[stage.name] = answer
        done.append(
            StageAnswer(
                stage.name,
                answer.served.version,
                answer.arm,
                answer.latency_ms,
                answer.fallback_from,
            )
        )
    request.final = answers[request.stages[-1].name]
    return done


def stage_payload(
    stage: Stage,
    request: Any,
    ranking: bool,
    earlier: Mapping[str, Answer],
) -> Any:
    """The stage's inputs: the request's instances (or context) as they came when the stage
    maps nothing, else a row per instance (one for a ranking) of the mapped fields."""
    if not stage.inputs:
        return request
    if ranking:
        return _row(stage, request, "context", earlier, 0)
    return [
        _row(stage, instance, f"instances[{index}]", earlier, index)
        for index, instance in enumerate(request)
    ]


def stage_output(answer: Answer) -> list[Json] | dict[str, Json]:
    """What a stage hands on: its outputs, one per instance, or a ranker's items and scores."""
    if answer.served.items:
        return {
            "items": [item.item for item in answer.served.items],
            "scores": [item.score for item in answer.served.items],
        }
    return answer.served.outputs


def _row(
    stage: Stage, instance: Any, where: str, earlier: Mapping[str, Answer], index: int
) -> dict[str, Json]:
    row: dict[str, Json] = {}
    for field, source in stage.inputs.items():
        if source.stage == REQUEST:
            if not isinstance(instance, dict) or source.field not in instance:
                raise InvalidInput(
                    f"{where}.{source.field}: missing; stage {stage.name!r} reads it "
                    f"(inputs.{field})."
                )
            row[field] = instance[source.field]
            continue
        output = stage_output(earlier[source.stage])
        value = output if isinstance(output, dict) else output[index]
        if source.field is not None:
            if not isinstance(value, dict) or source.field not in value:
                raise ModelFailed(
                    f"Stage {source.stage!r} answered no {source.field!r} for stage "
                    f"{stage.name!r} (inputs.{field}); it answered {_shape(value)}."
                )
            value = value[source.field]
        row[field] = value
    return row


def _shape(value: Json) -> str:
    if isinstance(value, dict):
        return "the fields " + ", ".join(map(repr, value)) if value else "an empty object"
    return f"a {type(value).__name__}"


def stage_error(stage: str, exc: ChampionError) -> ChampionError:
    """``exc`` with the stage named first (same class: the same HTTP status)."""
    return type(exc)(f"Stage {stage!r}: {exc.message}")
