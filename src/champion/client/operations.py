"""Every call of the HTTP API, written once for the sync and the async client.

An operation builds a ``Call``; ``Client`` sends it and returns the answer, ``AsyncClient``
returns an awaitable of the same answer.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from champion.answers import (
    AuditAnswer,
    EndpointAnswer,
    EndpointConfigAnswer,
    EndpointHistoryAnswer,
    EndpointListAnswer,
    FeedbackAnswer,
    HealthAnswer,
    InterleavingAnswer,
    InterleavingComparison,
    ModelAnswer,
    ModelListAnswer,
    ModelSummary,
    PredictAnswer,
    RankAnswer,
    StatsAnswer,
    VersionAnswer,
    VersionPageAnswer,
)
from champion.client.automation import AutomationCalls
from champion.client.calls import Call, drop_none, iso, nothing, operation, read, segment
from champion.client.experiments import ExperimentCalls
from champion.client.monitoring import MonitoringCalls
from champion.client.stages import StageCalls
from champion.errors import InvalidInput

__all__ = ["Operations", "pack"]
_SKIPPED_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def pack(folder: Path) -> bytes:
    """The version folder (or MLflow model folder) as a .tar.gz (regular files only), as the
    server takes it."""
    folder = Path(folder)
    if not any((folder / name).is_file() for name in ("champion.yaml", "MLmodel")):
        raise InvalidInput(
            f"{str(folder)!r} is not a version folder: it has no champion.yaml (or MLflow MLmodel)."
        )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if _SKIPPED_DIRS & set(relative.parts) or path.is_dir():
                continue
            if path.is_symlink():
                raise InvalidInput(
                    f"{str(relative)!r} is a symbolic link; a version folder holds regular "
                    "files only."
                )
            archive.add(path, arcname=relative.as_posix(), recursive=False)
    return buffer.getvalue()


class Operations(ExperimentCalls, MonitoringCalls, AutomationCalls, StageCalls):
    """The API's calls, each answering the model the server declares for it; subclasses
    say how a Call is sent."""

    # -- registry ------------------------------------------------------------------------

    @operation
    def list_models(self) -> Call[list[ModelSummary]]:
        """Models with their latest version and aliases."""
        return Call("GET", "/v1/models", lambda body: ModelListAnswer.model_validate(body).models)

    @operation
    def get_model(self, model: str) -> Call[ModelAnswer]:
        """One model with its newest versions (at most 10; ``list_versions`` has them all)."""
        return Call("GET", f"/v1/models/{segment(model)}", read(ModelAnswer))

    @operation
    def list_versions(
        self,
        model: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        tags: Sequence[str] = (),
        alias: str | None = None,
        creator: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        metrics: Sequence[str] = (),
    ) -> Call[VersionPageAnswer]:
        """A page of ``model``'s versions, newest first (``versions``); pass its
        ``next_cursor`` as ``cursor`` for the next page (None after the last).

        ``tags`` are ``"key:value"`` or ``"key"`` (any value), ``metrics`` thresholds such as
        ``"auc>0.8"``; every filter given must hold.
        """
        params = drop_none(
            limit=limit,
            cursor=cursor,
            tag=list(tags) or None,
            alias=alias,
            creator=creator,
            created_after=iso(created_after),
            created_before=iso(created_before),
            metric=list(metrics) or None,
        )
        path = f"/v1/models/{segment(model)}/versions"
        return Call("GET", path, read(VersionPageAnswer), params=params)

    @operation
    def get_version(self, model: str, version: int | str) -> Call[VersionAnswer]:
        """A version by number or alias: ``get_version("recs", "champion")``."""
        path = f"/v1/models/{segment(model)}/versions/{segment(version)}"
        return Call("GET", path, read(VersionAnswer))

    @operation
    def register(
        self,
        folder: str | Path,
        *,
        model: str | None = None,
        aliases: Sequence[str] = (),
        reason: str = "",
    ) -> Call[VersionAnswer]:
        """Upload a version folder as the next version of ``model`` (default: its manifest's),
        or an MLflow model folder as MLflow saved it (``model`` then names it)."""
        folder = Path(folder)
        archive = pack(folder)
        if model is None and not (folder / "champion.yaml").is_file():
            raise InvalidInput("model: give a model name (an MLflow folder has no champion.yaml).")
        if model is None:
            manifest = yaml.safe_load((folder / "champion.yaml").read_text(encoding="utf-8"))
            model = manifest.get("name") if isinstance(manifest, dict) else None
            if not model:
                raise InvalidInput("model: give a model name (champion.yaml has no 'name').")
        return _upload(model, archive, aliases, reason)

    @operation
    def log_model(
        self,
        estimator: Any,
        *,
        model: str,
        example: Any,
        reference: Any = None,
        kind: Literal["classifier", "regressor"] | None = None,
        lineage: Mapping[str, Any] | None = None,
        trusted_types: Sequence[str] = (),
        aliases: Sequence[str] = (),
        reason: str = "",
    ) -> Call[VersionAnswer]:
        """Save a fitted scikit-learn ``estimator`` and register it as the next version of
        ``model`` in one call: ``example`` (a DataFrame of inputs) gives the signature and the
        drift reference (unless ``reference`` is given); the rest as ``champion.save_model``."""
        from champion.saving import save_model

        with tempfile.TemporaryDirectory(prefix="champion-model-") as work:
            folder = save_model(
                estimator, Path(work) / "version", example=example, reference=reference,
                kind=kind, lineage=lineage, trusted_types=trusted_types,
            )  # fmt: skip
            archive = pack(folder)
        return _upload(model, archive, aliases, reason)

    @operation
    def delete_version(self, model: str, version: int, *, reason: str = "") -> Call[VersionAnswer]:
        """Delete ``model/version`` (refused while an alias points at it or an endpoint
        serves it); returns the deleted version as it was."""
        path = f"/v1/models/{segment(model)}/versions/{segment(version)}"
        return Call("DELETE", path, read(VersionAnswer), params={"reason": reason})

    @operation
    def set_alias(
        self, model: str, alias: str, version: int, *, reason: str = ""
    ) -> Call[VersionAnswer]:
        """Point ``model@alias`` at ``version``; answers the version."""
        path = f"/v1/models/{segment(model)}/aliases/{segment(alias)}"
        body = {"version": version, "reason": reason}
        return Call("PUT", path, read(VersionAnswer), json=body)

    @operation
    def remove_alias(self, model: str, alias: str, *, reason: str = "") -> Call[None]:
        path = f"/v1/models/{segment(model)}/aliases/{segment(alias)}"
        return Call("DELETE", path, nothing, params={"reason": reason})

    # -- endpoints -----------------------------------------------------------------------

    @operation
    def list_endpoints(self) -> Call[list[EndpointAnswer]]:
        return Call(
            "GET", "/v1/endpoints", lambda body: EndpointListAnswer.model_validate(body).endpoints
        )

    @operation
    def remove_endpoint(self, endpoint: str, *, reason: str = "") -> Call[EndpointAnswer]:
        """Delete ``endpoint`` (refused while an experiment runs on it); returns its last
        configuration."""
        path = f"/v1/endpoints/{segment(endpoint)}"
        return Call("DELETE", path, read(EndpointAnswer), params={"reason": reason})

    @operation
    def get_endpoint(self, endpoint: str) -> Call[EndpointAnswer]:
        """The endpoint's policy, parameters, the versions it serves (and bandit state)."""
        return Call("GET", f"/v1/endpoints/{segment(endpoint)}", read(EndpointAnswer))

    @operation
    def set_endpoint(
        self,
        endpoint: str,
        policy: str,
        params: Mapping[str, Any],
        *,
        salt: str | None = None,
        reason: str = "",
    ) -> Call[EndpointAnswer]:
        """Create or change an endpoint: ``set_endpoint("recs", "single", {"version": ...})``."""
        body = {"policy": policy, "params": dict(params), "reason": reason}
        if salt is not None:
            body["salt"] = salt
        path = f"/v1/endpoints/{segment(endpoint)}"
        return Call("PUT", path, read(EndpointAnswer), json=body)

    @operation
    def history(self, endpoint: str) -> Call[list[EndpointConfigAnswer]]:
        """Every configuration of the endpoint, oldest first, with who and why."""
        path = f"/v1/endpoints/{segment(endpoint)}/history"
        return Call("GET", path, lambda body: EndpointHistoryAnswer.model_validate(body).history)

    @operation
    def predict(
        self, endpoint: str, instances: Sequence[Mapping[str, Any]], *, unit: str | None = None
    ) -> Call[PredictAnswer]:
        """Predictions for ``instances``; the answer names the version, the unit's arm and
        the request id (to send feedback with)."""
        body: dict[str, Any] = {"instances": [dict(i) for i in instances]}
        if unit is not None:
            body["unit"] = unit
        path = f"/v1/endpoints/{segment(endpoint)}/predict"
        return Call("POST", path, read(PredictAnswer), json=body)

    @operation
    def rank(
        self,
        endpoint: str,
        *,
        unit: str | None = None,
        k: int = 10,
        context: Mapping[str, Any] | None = None,
    ) -> Call[RankAnswer]:
        """The top ``k`` items for ``unit``, each with its position and score."""
        body: dict[str, Any] = {"k": k, "context": dict(context or {})}
        if unit is not None:
            body["unit"] = unit
        path = f"/v1/endpoints/{segment(endpoint)}/rank"
        return Call("POST", path, read(RankAnswer), json=body)

    @operation
    def stats(
        self, endpoint: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> Call[StatsAnswer]:
        """Per version and arm over ``[start, end)``: requests, CTR, feedback, latency."""
        params = drop_none(start=iso(start), end=iso(end))
        path = f"/v1/endpoints/{segment(endpoint)}/stats"
        return Call("GET", path, read(StatsAnswer), params=params)

    @operation
    def interleaving(
        self,
        endpoint: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        alpha: float = 0.05,
        test: str = "sequential",
    ) -> Call[list[InterleavingComparison]]:
        """Which ranker units prefer: the mean unit preference tested over units
        (``sequential``, ``t``, ``sign`` or ``bootstrap``), with impression counts."""
        params = drop_none(start=iso(start), end=iso(end), alpha=alpha, test=test)
        path = f"/v1/endpoints/{segment(endpoint)}/interleaving"
        return Call(
            "GET",
            path,
            lambda body: InterleavingAnswer.model_validate(body).comparisons,
            params=params,
        )

    # -- feedback ------------------------------------------------------------------------

    @operation
    def feedback(
        self,
        request_id: str,
        kind: str,
        *,
        item: str | int | None = None,
        value: float | None = None,
        label: Any = None,
        event_id: str | None = None,
        at: datetime | None = None,
    ) -> Call[FeedbackAnswer]:
        """Report what happened after a request; answered once committed."""
        event = _event(request_id, kind, item, value, label, event_id, at)
        return Call("POST", "/v1/feedback", read(FeedbackAnswer), json=event)

    @operation
    def feedback_batch(self, events: Sequence[Mapping[str, Any]]) -> Call[FeedbackAnswer]:
        """Many feedback events in one commit; each a dict with request_id, kind, ..."""
        body = {"events": [drop_none(**dict(e)) for e in events]}
        return Call("POST", "/v1/feedback/batch", read(FeedbackAnswer), json=body)

    # -- the record ----------------------------------------------------------------------

    @operation
    def audit(
        self,
        *,
        model: str | None = None,
        endpoint: str | None = None,
        target: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> Call[AuditAnswer]:
        """One page of the audit log, newest first (``records``); ``next`` is the ``before``
        of the next page (None at the end)."""
        params = drop_none(
            model=model,
            endpoint=endpoint,
            target=target,
            action=action,
            actor=actor,
            since=iso(since),
            until=iso(until),
            before=before,
            limit=limit,
        )
        return Call("GET", "/v1/audit", read(AuditAnswer), params=params)

    @operation
    def health(self) -> Call[HealthAnswer]:
        return Call("GET", "/v1/health", read(HealthAnswer))


def _event(
    request_id: str,
    kind: str,
    item: str | int | None,
    value: float | None,
    label: Any,
    event_id: str | None,
    at: datetime | None,
) -> dict[str, Any]:
    return drop_none(
        request_id=request_id,
        kind=kind,
        item=item,
        value=value,
        label=label,
        event_id=event_id,
        at=iso(at),
    )


def _upload(model: str, archive: bytes, aliases: Sequence[str], reason: str) -> Call[VersionAnswer]:
    return Call(
        "POST",
        f"/v1/models/{segment(model)}/versions",
        read(VersionAnswer),
        files={"file": ("version.tar.gz", archive, "application/gzip")},
        data={"aliases": ",".join(aliases), "reason": reason},
    )
