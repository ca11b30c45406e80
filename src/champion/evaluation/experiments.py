"""Experiments: stored per endpoint, audited, and reported with their numbers and decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.db import read, write
from champion.errors import Compacted, Conflict, InvalidInput, NotFound
from champion.evaluation.analysis import Analysis, analyse
from champion.evaluation.arms import ExperimentArms, endpoint_arms, experiment_arms
from champion.evaluation.decision import Decision, decide
from champion.evaluation.design import ExperimentDesign, check_fits, parse_design
from champion.evaluation.horizon import FIXED_HORIZON, Horizon, fix_horizon, horizon_reached
from champion.evaluation.tables import experiments
from champion.events.arms import ArmWindow
from champion.events.compacted import require_units
from champion.registry import Registry, VersionKey, VersionRef
from champion.serving.endpoints import EndpointConfig, Endpoints

__all__ = ["Experiment", "ExperimentReport", "Experiments"]

RUNNING = "running"


@dataclass(frozen=True)
class Experiment:
    id: int
    endpoint: str
    design: ExperimentDesign
    status: str
    since_config: int
    started_at: datetime
    step_started_at: datetime
    finished_at: datetime | None
    pending: dict[str, Any] | None
    outcome: dict[str, Any] | None
    last_decision: dict[str, Any] | None
    revision: int
    created_by: str
    updated_at: datetime
    updated_by: str
    horizon_reached_at: datetime | None = None
    """When a fixed-horizon goal first had ``min_sample`` units per arm."""
    horizon: dict[str, Any] | None = None
    """The stored one evaluation of a fixed-horizon goal (:class:`Horizon` as JSON)."""

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "status": self.status,
            "design": self.design.model_dump(mode="json"),
            "started_at": self.started_at.isoformat(),
            "step_started_at": self.step_started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "pending": self.pending,
            "outcome": self.outcome,
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
            "revision": self.revision,
            "horizon_reached_at": None
            if self.horizon_reached_at is None
            else self.horizon_reached_at.isoformat(),
            "horizon": self.horizon,
        }


def _no_analysis() -> dict[str, Any]:
    """What the report holds when there is nothing to analyse yet: the same fields, empty."""
    return {
        "arms": [],
        "results": [],
        "health": [],
        "interleaving": None,
        "propensity": None,
        "regime": None,
        "steps": [],
    }


@dataclass(frozen=True)
class ExperimentReport:
    """An experiment with its numbers now, and what should happen next."""

    experiment: Experiment
    arms: ExperimentArms | None
    analysis: Analysis | None
    decision: Decision

    def to_json(self) -> dict[str, Any]:
        body = self.experiment.to_json()
        body["policy"] = None if self.arms is None else self.arms.policy
        if self.arms is not None and self.arms.stage is not None:
            body["stage"] = self.arms.stage  # a pipeline endpoint's stage under test
        body["share"] = None if self.arms is None else self.arms.share
        body["versions"] = (
            None if self.arms is None else {a: str(k) for a, k in self.arms.versions.items()}
        )
        body.update(self.analysis.to_json() if self.analysis else _no_analysis())
        body["decision"] = self.decision.to_json()
        return body


def _experiment(row: sa.RowMapping) -> Experiment:
    values = dict(row)
    values["design"] = ExperimentDesign.model_validate(values["design"])
    return Experiment(**values)


class Experiments:
    """Reads, starts and changes experiments; every change is audited with its reason."""

    def __init__(
        self, engine: sa.Engine, registry: Registry, endpoints: Endpoints, clock: Clock
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.endpoints = endpoints
        self.clock = clock

    # -- reading -------------------------------------------------------------------------

    def get(self, endpoint: str) -> Experiment:
        """The endpoint's current (or last) experiment."""
        with read(self.engine) as conn:
            found = self._latest(conn, endpoint)
        if found is None:
            self.endpoints.get(endpoint)  # NotFound for an unknown endpoint
            raise NotFound(
                f"Endpoint {endpoint!r} has no experiment. Start one with "
                f"PUT /v1/endpoints/{endpoint}/experiment or champion experiment set {endpoint}."
            )
        return found

    def latest(self) -> list[Experiment]:
        """Each endpoint's current (or last) experiment, by endpoint name."""
        newest = sa.select(sa.func.max(experiments.c.id)).group_by(experiments.c.endpoint)
        with read(self.engine) as conn:
            rows = conn.execute(
                sa.select(experiments)
                .where(experiments.c.id.in_(newest))
                .order_by(experiments.c.endpoint)
            ).mappings()
            return [_experiment(row) for row in rows]

    def running(self) -> list[Experiment]:
        with read(self.engine) as conn:
            rows = conn.execute(
                sa.select(experiments)
                .where(experiments.c.status == RUNNING)
                .order_by(experiments.c.endpoint)
            ).mappings()
            return [_experiment(row) for row in rows]

    def _latest(self, conn: sa.Connection, endpoint: str) -> Experiment | None:
        row = (
            conn.execute(
                sa.select(experiments)
                .where(experiments.c.endpoint == endpoint)
                .order_by(experiments.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return None if row is None else _experiment(row)

    def arms(self, experiment: Experiment) -> ExperimentArms:
        """What the experiment compares: live from the endpoint while it runs, as recorded
        when it finished."""
        if experiment.running:
            config = self.endpoints.get(experiment.endpoint)
            return endpoint_arms(
                config.name,
                config.policy,
                config.params,
                self._resolve,
                self.endpoints.policies.get,
            )
        compared = (experiment.outcome or {}).get("compared", {})
        pinned = compared.get("versions", {})
        arms = experiment_arms(
            experiment.endpoint,
            self.endpoints.policies.get(compared.get("policy", "")),
            compared.get("params", {}),
            lambda ref: _key(pinned.get(ref, ref)),
        )
        return replace(arms, stage=compared.get("stage"))

    def _resolve(self, ref: str) -> VersionKey:
        return self.registry.resolve(ref).key

    def report(self, experiment: Experiment, *, full: bool = True) -> ExperimentReport:
        """Per-arm numbers, tests, health and the decision, computed now in the database
        (``full`` off: only the metrics the design uses)."""
        try:
            arms = self.arms(experiment)
        except InvalidInput as exc:
            return ExperimentReport(
                experiment,
                None,
                None,
                Decision("continue", "none", f"{exc.message} The experiment is stalled."),
            )
        window = ArmWindow(
            experiment.endpoint,
            arms.logged_arms,
            experiment.since_config,
            experiment.started_at,
            experiment.finished_at,
        )
        try:
            with read(self.engine) as conn:
                analysis = analyse(conn, experiment.design, arms, window, full=full)
        except Compacted as exc:
            if experiment.running:
                raise
            # Its per-unit rows are merged past CHAMPION_KEEP_UNIT_ROLLUPS: the stored
            # decision (and fixed-horizon evaluation) stands, without numbers recomputed.
            return ExperimentReport(experiment, arms, None, _finished(experiment, exc.message))
        horizon, due, reached = self._horizon(experiment, analysis)
        experiment = replace(experiment, horizon_reached_at=reached)
        if horizon is not None:
            analysis = horizon.applied(analysis)
            experiment = replace(experiment, horizon=horizon.to_json())
        if not experiment.running:
            decision = _finished(experiment)
        else:
            # The step's own start: a ramp by hand (a new share set on the endpoint) starts a
            # step as the controller's ramps do.
            regime = analysis.regime
            step_start = experiment.step_started_at if regime is None else regime.started_at
            decision = decide(
                experiment.design, analysis, step_start, self.clock.now(), horizon, due=due
            )
        return ExperimentReport(experiment, arms, analysis, decision)

    def _horizon(
        self, experiment: Experiment, analysis: Analysis
    ) -> tuple[Horizon | None, datetime | None, datetime | None]:
        """The stored evaluation of a fixed-horizon goal, or when it is due, and when
        ``min_sample`` was reached.

        The first look with ``min_sample`` units per arm records that moment; the first look
        ``horizon_wait_seconds`` later evaluates the goal once and stores the result, which
        every later look (whoever looks) uses.
        """
        design = experiment.design
        reached = experiment.horizon_reached_at
        if experiment.horizon is not None:
            stored = Horizon.from_json(experiment.horizon)
            return (stored if stored.applies_to(design) else None), None, reached
        if not experiment.running or design.method not in FIXED_HORIZON:
            return None, None, reached
        if analysis.regime is not None and not analysis.regime.last:
            # A canary's goal is tested in its last step before 100 % only (one alpha for the
            # whole ramp): earlier steps neither start nor spend the one evaluation.
            return None, None, reached
        now = self.clock.now()
        if reached is None:
            if not horizon_reached(design, analysis):
                return None, None, None
            reached = self._store_once(experiment, "horizon_reached_at", now)
        due = reached + timedelta(seconds=design.horizon_wait_seconds)
        if now < due:
            return None, due, reached
        fixed = fix_horizon(design, analysis, now)
        stored_json = self._store_once(experiment, "horizon", fixed.to_json())
        return Horizon.from_json(stored_json), None, reached

    def _store_once(self, experiment: Experiment, column: str, value: Any) -> Any:
        """Write ``column`` unless another look wrote it first; what is stored now."""
        with write(self.engine) as conn:
            conn.execute(
                experiments.update()
                .where((experiments.c.id == experiment.id) & experiments.c[column].is_(None))
                .values({column: value})
            )
            return conn.execute(
                sa.select(experiments.c[column]).where(experiments.c.id == experiment.id)
            ).scalar_one()

    # -- changing ------------------------------------------------------------------------

    def remove_endpoint(self, endpoint: str, *, actor: str, reason: str = "") -> EndpointConfig:
        """Delete ``endpoint`` (audited), refused while an experiment runs on it: its units
        and decision would be cut off mid-way."""
        with write(self.engine) as conn:
            current = self._latest(conn, endpoint)
            if current is not None and current.running:
                raise Conflict(
                    f"Endpoint {endpoint!r} has a running experiment (started "
                    f"{current.started_at:%Y-%m-%d %H:%M} UTC): promote it or roll it back "
                    f"first ('champion experiment promote|rollback {endpoint}')."
                )
            return self.endpoints.remove(conn, endpoint, actor=actor, reason=reason)

    def set(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        actor: str,
        reason: str = "",
        conn: sa.Connection | None = None,
    ) -> Experiment:
        """Start an experiment on ``endpoint``, or change the running one's design; with
        ``conn``, inside the caller's write transaction (a deployment that opens one)."""
        design = parse_design(body)
        if conn is not None:
            return self._set(conn, endpoint, design, actor, reason)
        with write(self.engine) as own:
            return self._set(own, endpoint, design, actor, reason)

    def _set(
        self,
        conn: sa.Connection,
        endpoint: str,
        design: ExperimentDesign,
        actor: str,
        reason: str,
    ) -> Experiment:
        config = self.endpoints.get(endpoint, conn=conn)
        arms = endpoint_arms(
            config.name, config.policy, config.params, self._resolve, self.endpoints.policies.get
        )
        check_fits(design, arms.policy)
        now = self.clock.now()
        if design.cuped:
            # The pre-period is read per unit for as long as the experiment runs.
            what = f"experiment.cuped with cuped_days={design.cuped_days:g}"
            require_units(conn, endpoint, now - timedelta(days=design.cuped_days), now, what)
        current = self._latest(conn, endpoint)
        stored = design.model_dump(mode="json")
        if current is not None and current.running:
            self.update(
                conn,
                current,
                actor=actor,
                action="experiment.configure",
                reason=reason,
                details={"design": stored},
                design=stored,
                **_horizon_kept(current, design),
            )
        else:
            conn.execute(
                experiments.insert().values(
                    endpoint=endpoint,
                    status=RUNNING,
                    since_config=config.config_version,
                    started_at=now,
                    step_started_at=now,
                    revision=1,
                    created_by=actor,
                    design=stored,
                    updated_at=now,
                    updated_by=actor,
                )
            )
            audit.record(
                conn,
                at=now,
                actor=actor,
                action="experiment.start",
                target=endpoint,
                details={
                    **audit.subject(k.model for k in arms.versions.values()),
                    "design": stored,
                    "policy": config.policy,
                    "versions": {a: str(k) for a, k in arms.versions.items()},
                },
                reason=reason,
            )
        found = self._latest(conn, endpoint)
        assert found is not None  # just written
        return found

    def update(
        self,
        conn: sa.Connection,
        experiment: Experiment,
        *,
        actor: str,
        action: str,
        reason: str,
        details: dict[str, Any] | None = None,
        **values: Any,
    ) -> None:
        """Change ``experiment`` if nobody changed it since it was read, and audit it.

        Raises Conflict when another process (a second controller, a person approving)
        changed it first: the caller reads it again rather than acting twice.
        """
        now = self.clock.now()
        changed = conn.execute(
            experiments.update()
            .where(
                (experiments.c.id == experiment.id)
                & (experiments.c.revision == experiment.revision)
            )
            .values(revision=experiment.revision + 1, updated_at=now, updated_by=actor, **values)
        ).rowcount
        if changed != 1:
            raise Conflict(
                f"The experiment on {experiment.endpoint!r} changed while this action was "
                "being decided; look again and retry."
            )
        config = self.endpoints.get(experiment.endpoint, conn=conn)
        models = self.endpoints.models(config.policy, config.params)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action=action,
            target=experiment.endpoint,
            details={**audit.subject(models), "experiment": experiment.id, **(details or {})},
            reason=reason,
        )

    def note_decision(self, experiment: Experiment, decision: Decision) -> None:
        """Remember the latest decision (not audited: nothing changed)."""
        with write(self.engine) as conn:
            conn.execute(
                experiments.update()
                .where(experiments.c.id == experiment.id)
                .values(last_decision={**decision.to_json(), "at": self.clock.now().isoformat()})
            )


def _finished(experiment: Experiment, note: str = "") -> Decision:
    """The decision a finished experiment ended with, as it was stored."""
    last = experiment.last_decision or {}
    return Decision(
        last.get("decision", "continue"),
        "none",
        f"{experiment.status.replace('_', ' ').capitalize()} at "
        f"{experiment.finished_at:%Y-%m-%d %H:%M:%S} UTC: {last.get('reason', '')}"
        + (f" (its numbers are not recomputed: {note})" if note else ""),
    )


def _horizon_kept(current: Experiment, design: ExperimentDesign) -> dict[str, Any]:
    """A new goal, method or horizon forgets the stored evaluation (the change is audited)."""
    before = current.design
    same = (before.goal, before.method, before.min_sample, before.alpha) == (
        design.goal,
        design.method,
        design.min_sample,
        design.alpha,
    ) and before.horizon_wait_seconds == design.horizon_wait_seconds
    return {} if same else {"horizon": sa.null(), "horizon_reached_at": None}


def _key(text: str) -> VersionKey:
    ref = VersionRef.parse(text)
    assert ref.number is not None  # pinned references are always model/number
    return VersionKey(ref.model, ref.number)
