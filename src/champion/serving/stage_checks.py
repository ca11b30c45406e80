"""Checking a pipeline endpoint against its stages' versions when it is set.

Every version a stage may call is held to the stage's input mapping: a mapped field its
signature lacks, a required field left unmapped, an earlier stage's output that does not
exist or has another type are refused with the stage, the version and the field named, so
a broken chain never reaches a request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from champion.errors import ChampionError, InvalidInput
from champion.plugins import Registry as PluginRegistry
from champion.registry.entities import Version
from champion.serving.policies import PolicyFactory
from champion.serving.stages import RANKER_OUTPUTS, REQUEST, Source, Stage, parse_stages

__all__ = ["check_stages"]

_NAME_ROOM = 64  # the width of the event tables' endpoint column


def check_stages(
    endpoint: str | None,
    params: Mapping[str, Any],
    policies: PluginRegistry[PolicyFactory],
    resolve: Callable[[str], Version],
) -> list[str]:
    """Validate a pipeline endpoint's parameters; return every version reference in them."""
    stages = parse_stages(params)
    references: list[str] = []
    kinds: dict[str, str] = {}
    outputs: dict[str, dict[str, str] | None] = {}  # stage -> its declared outputs' types
    for index, stage in enumerate(stages):
        where = f"Stage {stage.name!r} (params.stages[{index}])"
        if endpoint is not None and stage is not stages[-1]:
            if len(endpoint) + 1 + len(stage.name) > _NAME_ROOM:
                raise InvalidInput(
                    f"{where}: its events are logged under '{endpoint}:{stage.name}', longer "
                    f"than {_NAME_ROOM} characters; shorten the stage's or endpoint's name."
                )
        if stage.policy == "interleave" and stage is not stages[-1]:
            raise InvalidInput(
                f"{where}: interleave credits shown items to clicks, so only the last stage, "
                "whose list is shown, may interleave."
            )
        try:
            factory = policies.get(stage.policy)
            refs = factory.references(stage.params)
        except ChampionError as exc:
            raise type(exc)(f"{where}: {exc.message}") from None
        versions = [resolve(ref) for ref in refs]
        stage_kinds = {v.kind for v in versions}
        if len(stage_kinds) > 1:
            listed = ", ".join(f"{r} is a {v.kind}" for r, v in zip(refs, versions, strict=True))
            raise InvalidInput(f"{where}: a stage serves one kind of model, but {listed}.")
        kind = stage_kinds.pop()
        if factory.kinds is not None and kind not in factory.kinds:
            raise InvalidInput(
                f"{where}: the {stage.policy} policy serves "
                f"{' or '.join(sorted(factory.kinds))} models only, not a {kind}."
            )
        for version in versions:
            _check_inputs(where, stage, version, kinds, outputs)
        kinds[stage.name] = kind
        outputs[stage.name] = _declared(versions, "outputs")
        references.extend(refs)
    last = stages[-1]
    if kinds[last.name] != "ranker":
        rankers = [name for name, kind in kinds.items() if kind == "ranker"]
        if rankers:
            raise InvalidInput(
                f"Stage {rankers[0]!r} is a ranker, but the last stage {last.name!r} is a "
                f"{kinds[last.name]}: a pipeline endpoint ranks when its last stage ranks, "
                "and only then may earlier stages rank."
            )
    if last.k is not None:
        raise InvalidInput(
            f"Stage {last.name!r}: 'k' is for earlier ranker stages; the last stage answers "
            "the request's k."
        )
    return references


def _check_inputs(
    where: str,
    stage: Stage,
    version: Version,
    kinds: Mapping[str, str],
    outputs: Mapping[str, dict[str, str] | None],
) -> None:
    declared = _declared([version], "inputs")
    if not stage.inputs or declared is None:
        # Unmapped: the request's instance as it came, checked at request time as today.
        # No declared inputs (most rankers): any context field is welcome.
        for field, source in stage.inputs.items():
            _source_type(where, field, source, kinds, outputs)
        return
    at = f"{where}, version {version.model}/{version.number}"
    for field, source in stage.inputs.items():
        if field not in declared:
            raise InvalidInput(
                f"{at}: inputs.{field}: its signature has no input {field!r}; inputs: "
                f"{', '.join(declared)}."
            )
        given = _source_type(where, field, source, kinds, outputs)
        wanted = declared[field]
        if given is not None and given != wanted and (given, wanted) != ("integer", "number"):
            raise InvalidInput(
                f"{at}: inputs.{field}: {str(source)!r} is a {given}, but the signature wants "
                f"a {wanted}."
            )
    required = [
        spec["name"]
        for spec in version.manifest.get("signature", {}).get("inputs", [])
        if not spec.get("nullable", False)
    ]
    missing = [name for name in required if name not in stage.inputs]
    if missing:
        raise InvalidInput(
            f"{at}: its input {missing[0]!r} is not mapped; add inputs.{missing[0]} "
            f"(e.g. 'request.{missing[0]}')."
        )


def _source_type(
    where: str,
    field: str,
    source: Source,
    kinds: Mapping[str, str],
    outputs: Mapping[str, dict[str, str] | None],
) -> str | None:
    """The type ``source`` delivers, where it is known (a list for a ranker's outputs)."""
    if source.stage == REQUEST:
        return None
    if kinds[source.stage] == "ranker":
        if source.field not in RANKER_OUTPUTS:
            raise InvalidInput(
                f"{where}: inputs.{field}: {str(source)!r}: a ranker stage hands on "
                f"{' or '.join(f'{source.stage}.{name}' for name in RANKER_OUTPUTS)}."
            )
        return "list"
    declared = outputs[source.stage]
    if source.field is None or declared is None:
        return None
    if source.field not in declared:
        raise InvalidInput(
            f"{where}: inputs.{field}: stage {source.stage!r} has no output "
            f"{source.field!r}; outputs: {', '.join(declared)}."
        )
    return declared[source.field]


def _declared(versions: Sequence[Version], part: str) -> dict[str, str] | None:
    """The fields (name -> type) every one of ``versions`` declares, or None if any
    declares none."""
    found: dict[str, str] | None = None
    for version in versions:
        specs = version.manifest.get("signature", {}).get(part) or []
        if not specs:
            return None
        fields = {spec["name"]: spec["type"] for spec in specs}
        found = fields if found is None else {k: v for k, v in found.items() if k in fields}
    return found
