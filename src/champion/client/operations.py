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
from typing import Any, TypeVar

import yaml

from champion.client.automation import AutomationCalls
from champion.client.calls import Call, Sender, drop_none, iso, segment
from champion.client.experiments import ExperimentCalls
from champion.client.monitoring import MonitoringCalls
from champion.errors import InvalidInput

__all__ = ["Operations", "pack"]

R = TypeVar("R")
_SKIPPED_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def pack(folder: Path) -> bytes:
    """The version folder as a .tar.gz (regular files only), as the server takes it."""
    folder = Path(folder)
    if not (folder / "champion.yaml").is_file():
        raise InvalidInput(f"{str(folder)!r} is not a version folder: it has no champion.yaml.")
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


class Operations(ExperimentCalls[R], MonitoringCalls[R], AutomationCalls[R], Sender[R]):
    """The API's calls; subclasses say how a Call is sent."""

    # -- registry ------------------------------------------------------------------------

    def list_models(self) -> R:
        """Models with their latest version and aliases."""
        return self._send(Call("GET", "/v1/models", pick="models"))

    def get_model(self, model: str) -> R:
        """One model with its newest versions (at most 10; ``list_versions`` has them all)."""
        return self._send(Call("GET", f"/v1/models/{segment(model)}"))

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
    ) -> R:
        """A page of ``model``'s versions, newest first: ``{"versions": [...], "next_cursor"}``;
        pass ``next_cursor`` as ``cursor`` for the next page (None after the last).

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
        return self._send(Call("GET", f"/v1/models/{segment(model)}/versions", params=params))

    def get_version(self, model: str, version: int | str) -> R:
        """A version by number or alias: ``get_version("recs", "champion")``."""
        return self._send(Call("GET", f"/v1/models/{segment(model)}/versions/{segment(version)}"))

    def register(
        self,
        folder: str | Path,
        *,
        model: str | None = None,
        aliases: Sequence[str] = (),
        reason: str = "",
    ) -> R:
        """Upload a version folder as the next version of ``model`` (default: its manifest's)."""
        folder = Path(folder)
        archive = pack(folder)
        if model is None:
            manifest = yaml.safe_load((folder / "champion.yaml").read_text(encoding="utf-8"))
            model = manifest.get("name") if isinstance(manifest, dict) else None
            if not model:
                raise InvalidInput("model: give a model name (champion.yaml has no 'name').")
        return self._upload(model, archive, aliases, reason)

    def log_model(
        self,
        estimator: Any,
        *,
        model: str,
        example: Any,
        aliases: Sequence[str] = (),
        reason: str = "",
        **save: Any,
    ) -> R:
        """Save a fitted scikit-learn ``estimator`` and register it as the next version of
        ``model`` in one call: ``example`` (a DataFrame of inputs) gives the signature and the
        drift reference; ``save`` takes the rest of ``champion.save_model``'s arguments
        (``reference``, ``kind``, ``lineage``, ``trusted_types``)."""
        from champion.saving import save_model

        with tempfile.TemporaryDirectory(prefix="champion-model-") as work:
            folder = save_model(estimator, Path(work) / "version", example=example, **save)
            archive = pack(folder)
        return self._upload(model, archive, aliases, reason)

    def _upload(self, model: str, archive: bytes, aliases: Sequence[str], reason: str) -> R:
        return self._send(
            Call(
                "POST",
                f"/v1/models/{segment(model)}/versions",
                files={"file": ("version.tar.gz", archive, "application/gzip")},
                data={"aliases": ",".join(aliases), "reason": reason},
            )
        )

    def delete_version(self, model: str, version: int, *, reason: str = "") -> R:
        """Delete ``model/version`` (refused while an alias points at it or an endpoint
        serves it); returns the deleted version as it was."""
        path = f"/v1/models/{segment(model)}/versions/{segment(version)}"
        return self._send(Call("DELETE", path, params={"reason": reason}))

    def set_alias(self, model: str, alias: str, version: int, *, reason: str = "") -> R:
        """Point ``model@alias`` at ``version``."""
        path = f"/v1/models/{segment(model)}/aliases/{segment(alias)}"
        return self._send(Call("PUT", path, json={"version": version, "reason": reason}))

    def remove_alias(self, model: str, alias: str, *, reason: str = "") -> R:
        path = f"/v1/models/{segment(model)}/aliases/{segment(alias)}"
        return self._send(Call("DELETE", path, params={"reason": reason}))

    # -- endpoints -----------------------------------------------------------------------

    def list_endpoints(self) -> R:
        return self._send(Call("GET", "/v1/endpoints", pick="endpoints"))

    def remove_endpoint(self, endpoint: str, *, reason: str = "") -> R:
        """Delete ``endpoint`` (refused while an experiment runs on it); returns its last
        configuration."""
        path = f"/v1/endpoints/{segment(endpoint)}"
        return self._send(Call("DELETE", path, params={"reason": reason}))

    def get_endpoint(self, endpoint: str) -> R:
        """The endpoint's policy, parameters, the versions it serves (and bandit state)."""
        return self._send(Call("GET", f"/v1/endpoints/{segment(endpoint)}"))

    def set_endpoint(
        self,
        endpoint: str,
        policy: str,
        params: Mapping[str, Any],
        *,
        salt: str | None = None,
        reason: str = "",
    ) -> R:
        """Create or change an endpoint: ``set_endpoint("recs", "single", {"version": ...})``."""
        body = {"policy": policy, "params": dict(params), "reason": reason}
        if salt is not None:
            body["salt"] = salt
        return self._send(Call("PUT", f"/v1/endpoints/{segment(endpoint)}", json=body))

    def history(self, endpoint: str) -> R:
        """Every configuration of the endpoint, oldest first, with who and why."""
        path = f"/v1/endpoints/{segment(endpoint)}/history"
        return self._send(Call("GET", path, pick="history"))

    def predict(
        self, endpoint: str, instances: Sequence[Mapping[str, Any]], *, unit: str | None = None
    ) -> R:
        """Predictions for ``instances``; the answer names the version and the request id."""
        body: dict[str, Any] = {"instances": [dict(i) for i in instances]}
        if unit is not None:
            body["unit"] = unit
        return self._send(Call("POST", f"/v1/endpoints/{segment(endpoint)}/predict", json=body))

    def rank(
        self,
        endpoint: str,
        *,
        unit: str | None = None,
        k: int = 10,
        context: Mapping[str, Any] | None = None,
    ) -> R:
        """The top ``k`` items for ``unit``, each with its position and score."""
        body: dict[str, Any] = {"k": k, "context": dict(context or {})}
        if unit is not None:
            body["unit"] = unit
        return self._send(Call("POST", f"/v1/endpoints/{segment(endpoint)}/rank", json=body))

    def stats(
        self, endpoint: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> R:
        """Per version and arm over ``[start, end)``: requests, CTR, feedback, latency."""
        params = drop_none(start=iso(start), end=iso(end))
        path = f"/v1/endpoints/{segment(endpoint)}/stats"
        return self._send(Call("GET", path, params=params))

    def interleaving(
        self,
        endpoint: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        alpha: float = 0.05,
        test: str = "sequential",
    ) -> R:
        """Which ranker units prefer: the mean unit preference tested over units
        (``sequential``, ``t``, ``sign`` or ``bootstrap``), with impression counts."""
        params = drop_none(start=iso(start), end=iso(end), alpha=alpha, test=test)
        path = f"/v1/endpoints/{segment(endpoint)}/interleaving"
        return self._send(Call("GET", path, params=params, pick="comparisons"))

    # -- feedback ------------------------------------------------------------------------

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
    ) -> R:
        """Report what happened after a request; answered once committed."""
        event = _event(request_id, kind, item, value, label, event_id, at)
        return self._send(Call("POST", "/v1/feedback", json=event))

    def feedback_batch(self, events: Sequence[Mapping[str, Any]]) -> R:
        """Many feedback events in one commit; each a dict with request_id, kind, ..."""
        body = {"events": [drop_none(**dict(e)) for e in events]}
        return self._send(Call("POST", "/v1/feedback/batch", json=body))

    # -- the record ----------------------------------------------------------------------

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
    ) -> R:
        """One page of the audit log, newest first: ``{"records": [...], "next": id | None}``."""
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
        return self._send(Call("GET", "/v1/audit", params=params))

    def health(self) -> R:
        return self._send(Call("GET", "/v1/health"))


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
