"""Simulated users served through champion's own services, and the decisions they lead to.

The rig of the validity harness (``validity.py``), the sensitivity study (``sensitivity.py``)
and ``tests/evaluation/test_validity.py``. Nothing here computes a statistic: every request is
routed by :class:`~champion.serving.service.ServingService` (assignment, policy, interleaving
credit and the prediction writer are the server's), every click goes through the
:class:`~champion.events.FeedbackCommitter` as ``POST /v1/feedback`` sends it, and every look
is a tick of the :class:`~champion.automation.RolloutController` on ``auto``, which reads
``Experiments.report`` and carries out ramps, promotions and rollbacks. The clock is a
:class:`~champion.clock.FixedClock` moved visit by visit, so days pass in seconds.

The users: unit ``u`` makes ``Poisson(activity_u)`` visits spread uniformly over the
horizon, with ``activity_u`` LogNormal(0, sigma) scaled to the requested mean (so units come
back over days and a few heavy units make many of the requests); each has a click
propensity of its own (log-normal around the base rate) and, for rankers, a preference.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from champion.automation import ControllerLook, RolloutController
from champion.clock import FixedClock
from champion.events import FeedbackCommitter, FeedbackEvent, PredictionWriter, RollupFolder
from champion.ids import time_ordered_id
from champion.metrics import Metrics
from champion.observability import RequestContext
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.serving.service import Answer, ServingService
from champion.settings import Settings

__all__ = [
    "ENDPOINT",
    "START",
    "Outcome",
    "Population",
    "Rig",
    "Served",
    "Transport",
    "outcome_of",
    "population",
    "template_home",
    "visits_by_hour",
]

START = datetime(2026, 3, 2, tzinfo=UTC)
ENDPOINT = "sim"
RANKED_ITEMS = 10

_FLAKY = '''\
from pathlib import Path
from typing import Any, NamedTuple, Protocol


class FlakyModel:
    """Answers a fixed score; fails on instances whose draw is under its failure rate."""

    def load(self, path: Path) -> None:
        self.rate = float((path / "rate.txt").read_text())

    def predict(self, instances: list[dict[str, Any]]) -> list[dict[str, float]]:
        if any(row["draw"] < self.rate for row in instances):
            raise RuntimeError("simulated failure")
        return [{"score": 0.5} for _ in instances]
'''

_LIST_RANKER = '''\
from pathlib import Path
from typing import Any, NamedTuple, Protocol


class ListRanker:
    """Ranks the items of items.txt in their order, whoever asks."""

    def load(self, path: Path) -> None:
        self.items = (path / "items.txt").read_text().split()

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[tuple[str, float]]:
        return [(item, 1.0 / (i + 1)) for i, item in enumerate(self.items[:k])]
'''

_RETRIEVER = '''\
import zlib
from pathlib import Path
from typing import Any


class UnitRetriever:
    """Hands on k items of items.txt in their order, from a place fixed by the unit."""

    def load(self, path: Path) -> None:
        self.items = (path / "items.txt").read_text().split()

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[tuple[str, float]]:
        start = zlib.crc32((unit or "").encode()) % len(self.items)
        chosen = (self.items[start:] + self.items[:start])[:k]
        return [(item, 1.0 / (i + 1)) for i, item in enumerate(chosen)]
'''

_RERANKER = '''\
from pathlib import Path
from typing import Any


class CandidateRanker:
    """Orders the candidates it is handed by their place in items.txt."""

    def load(self, path: Path) -> None:
        items = (path / "items.txt").read_text().split()
        self.place = {item: i for i, item in enumerate(items)}

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[tuple[str, float]]:
        ordered = sorted(context["candidates"], key=self.place.__getitem__)[:k]
        return [(item, 1.0 / (i + 1)) for i, item in enumerate(ordered)]
'''

_CLASSIFIER_YAML = """\
kind: classifier
flavor: python
class: flaky:FlakyModel
signature:
  inputs:
    - {name: draw, type: number}
lineage:
  description: a fixed score; fails at the rate in rate.txt
"""

_RANKER_YAML = """\
kind: ranker
flavor: python
class: ranker:ListRanker
lineage:
  description: ranks the items of items.txt in that order
"""

_RETRIEVER_YAML = """\
kind: ranker
flavor: python
class: retriever:UnitRetriever
lineage:
  description: hands on items of items.txt in order, from a place fixed by the unit
"""

_RERANKER_YAML = """\
kind: ranker
flavor: python
class: reranker:CandidateRanker
lineage:
  description: orders the candidates it is handed by their place in items.txt
"""

CHAMPION_ITEMS = [f"i{n:02d}" for n in range(2 * RANKED_ITEMS)]
"""The champion ranks these in order; the challenger ranks them in reverse."""
CANDIDATES = 15
"""Items the retrieval stage of the pipeline endpoint hands to its re-ranking stage."""


def _write_versions(root: Path) -> dict[str, Path]:
    folders = {}
    for name, rate in (("steady", "0"), ("flaky", "0.01"), ("flakier", "0.03")):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "champion.yaml").write_text(_CLASSIFIER_YAML)
        (folder / "flaky.py").write_text(_FLAKY)
        (folder / "rate.txt").write_text(rate)
        folders[name] = folder
    rankers = (
        ("forward", _RANKER_YAML, "ranker.py", _LIST_RANKER, CHAMPION_ITEMS),
        ("reverse", _RANKER_YAML, "ranker.py", _LIST_RANKER, CHAMPION_ITEMS[::-1]),
        ("retrieval", _RETRIEVER_YAML, "retriever.py", _RETRIEVER, CHAMPION_ITEMS),
        ("rerank-forward", _RERANKER_YAML, "reranker.py", _RERANKER, CHAMPION_ITEMS),
        ("rerank-reverse", _RERANKER_YAML, "reranker.py", _RERANKER, CHAMPION_ITEMS[::-1]),
    )
    for name, manifest, module, source, items in rankers:
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "champion.yaml").write_text(manifest)
        (folder / module).write_text(source)
        (folder / "items.txt").write_text(" ".join(items))
        folders[name] = folder
    return folders


MODELS: dict[str, tuple[str, ...]] = {
    # model -> its versions' folders, registered in this order (version 1, 2, ...)
    "clicks": ("steady", "steady", "steady", "steady"),
    "guarded": ("steady", "flaky", "flakier"),
    "ranks": ("forward", "forward", "reverse"),
    "retrieve": ("retrieval",),
    "rerank": ("rerank-forward", "rerank-forward", "rerank-reverse"),
}
"""``clicks`` has four identical versions (A/A with up to three challengers), ``guarded``
a challenger failing at 1 % (at a 0.01 guardrail's tolerance) and one at 3 %, ``ranks`` two
identical rankers and one that ranks the other way round. ``retrieve`` and ``rerank`` are
the two stages of a pipeline endpoint: a retrieval that hands on ``CANDIDATES`` of the same
items (which ones depends on the unit), and re-rankers that order them as ``ranks`` does
(two identical, one the other way round)."""


def _settings(home: Path) -> Settings:
    return Settings(home=home, controller=False, scheduler=False)


def template_home(root: Path) -> Path:
    """A champion home with the simulation's versions registered, to copy for every run."""
    home = root / "template"
    if (home / "champion.db").exists():
        return home
    folders = _write_versions(root / "versions")
    services = Services.open(_settings(home), FixedClock(START))
    for model, names in MODELS.items():
        for name in names:
            services.registry.register(folders[name], model=model, actor="validity")
    services.close()
    return home


@dataclass(frozen=True)
class Population:
    """Simulated units: expected visits over the horizon, click propensity, preference."""

    ids: tuple[str, ...]
    activity: npt.NDArray[np.float64]
    propensity: npt.NDArray[np.float64]
    prefers_challenger: npt.NDArray[np.bool_]

    @property
    def size(self) -> int:
        return len(self.ids)


def population(
    size: int,
    rng: np.random.Generator,
    *,
    sigma: float,
    mean_visits: float,
    propensity_sd: float = 0.5,
    share_preferring_challenger: float = 0.5,
    prefix: str = "u",
) -> Population:
    """``size`` units; activity LogNormal(0, ``sigma``) rescaled to mean ``mean_visits``."""
    activity = np.exp(sigma * rng.standard_normal(size) - sigma**2 / 2) * mean_visits
    propensity = np.exp(propensity_sd * rng.standard_normal(size) - propensity_sd**2 / 2)
    prefers = rng.random(size) < share_preferring_challenger
    ids = tuple(f"{prefix}{n}" for n in range(size))
    return Population(ids, activity, propensity, prefers)


def visits_by_hour(
    users: Population, hours: int, rng: np.random.Generator
) -> list[list[tuple[int, float]]]:
    """Per hour of the horizon, its visits in time order: (unit index, seconds into the hour)."""
    counts = rng.poisson(users.activity)
    units = np.repeat(np.arange(users.size), counts)
    seconds = rng.random(units.size) * hours * 3600.0
    order = np.argsort(seconds, kind="stable")
    hourly: list[list[tuple[int, float]]] = [[] for _ in range(hours)]
    for unit, at in zip(units[order], seconds[order], strict=True):
        hour = int(at // 3600)
        hourly[hour].append((int(unit), float(at - hour * 3600)))
    return hourly


class Served(NamedTuple):
    """What a client sees of one answer: its request id, the answering version's number and
    the ranked items (in order; empty for a prediction)."""

    request_id: str
    version: int
    items: tuple[str, ...]


class Transport(Protocol):
    """How a scenario reaches champion: its services in process (:class:`Rig`) or its HTTP
    API (the suite's ``HttpRig``), with the same controller looking."""

    def deploy(self, policy: str, params: dict[str, Any], *, salt: str) -> None: ...

    def start(self, design: dict[str, Any]) -> None: ...

    def predict(self, visits: Sequence[tuple[str, float, datetime]]) -> list[Served]: ...

    def rank(self, visits: Sequence[tuple[str, datetime]]) -> list[Served]: ...

    def feedback(self, events: Sequence[tuple[str, str | None, datetime]]) -> None: ...

    def look(self, hour: int) -> Outcome | None: ...

    def share(self) -> float | None: ...


@dataclass
class Outcome:
    """How one simulated experiment ended: the first decision the controller acted on."""

    decision: str
    """``promote``, ``rollback`` (the challenger judged worse), ``ended`` (rolled back
    without a finding: a fixed-horizon test without a win) or ``none`` (no decision)."""
    arm: str | None = None
    hour: int | None = None
    reason: str = ""
    ramps: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "arm": self.arm,
            "hour": self.hour,
            "reason": self.reason,
            "ramps": self.ramps,
        }


def outcome_of(looks: Sequence[ControllerLook], hour: int) -> Outcome | None:
    """The Outcome of a controller's tick that ended the experiment (None: it runs on)."""
    if not looks:
        return None
    decision = looks[0].decision
    if decision.decision == "promote":
        return Outcome("promote", decision.arm, hour, decision.reason)
    if decision.decision == "rollback":
        kind = "ended" if decision.arm is None else "rollback"
        return Outcome(kind, decision.arm, hour, decision.reason)
    return None


class Rig:
    """One champion home (a fresh copy of the template) served as the server serves it."""

    def __init__(self, home: Path) -> None:
        self.clock = FixedClock(START)
        settings = _settings(home)
        self.services = Services.open(settings, self.clock)
        metrics = Metrics()
        engine = self.services.engine
        # Flushed by hand before every look (close writes everything queued), never by time.
        self.writer = PredictionWriter(
            engine,
            metrics,
            queue_size=10_000_000,
            batch_size=settings.event_batch_size,
            flush_seconds=3600.0,
        )
        self.committer = FeedbackCommitter(
            engine, self.clock, metrics, settings.feedback_batch_size
        )
        self.runtime = Runtime(
            self.services.registry, self.services.flavors, settings, settings.runtime_dir
        )
        self.serving = ServingService(
            engine,
            self.services.registry,
            self.services.endpoints,
            self.runtime,
            self.writer,
            metrics,
            self.clock,
            timeout_seconds=settings.predict_timeout_seconds,
            inline_call_seconds=settings.inline_call_ms / 1000.0,
        )
        self.controller = RolloutController(
            engine, self.services.experiments, self.services.rollout, identity="validity"
        )
        # The server's fold loop, with the server's lag and segment: it runs every few seconds,
        # so by a look hours later everything but the last minute is folded, as here.
        self.folder = RollupFolder(
            engine,
            self.clock,
            None,
            timedelta(seconds=settings.fold_lag_seconds),
            timedelta(seconds=settings.rollup_segment_seconds),
        )
        # Request ids as the server makes them (time-ordered), but drawn from the simulated
        # clock and a seeded generator: the coins of interleaving and bandits come from the
        # id, so a run is the same run every time.
        self.ids = random.Random(0)
        self.loop = asyncio.new_event_loop()
        self.writer.start()
        self.committer.start()

    @classmethod
    @contextmanager
    def fresh(cls, template: Path, home: Path) -> Iterator[Rig]:
        """A rig on a copy of ``template`` at ``home`` (removed afterwards)."""
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(template, home)
        rig = cls(home)
        try:
            yield rig
        finally:
            rig.close()
            shutil.rmtree(home, ignore_errors=True)

    def close(self) -> None:
        self.controller.close()
        self.folder.close()
        self.writer.close()
        self.committer.close()
        self.serving.close()
        self.runtime.close()
        self.services.close()
        self.loop.close()

    # -- setting up ----------------------------------------------------------------------

    def deploy(self, policy: str, params: dict[str, Any], *, salt: str) -> None:
        self.services.endpoints.set(ENDPOINT, policy, params, actor="validity", salt=salt)
        self.serving.refresh(force=True)

    def start(self, design: dict[str, Any]) -> None:
        self.services.experiments.set(ENDPOINT, design, actor="validity")

    # -- traffic -------------------------------------------------------------------------

    def predict(self, visits: Sequence[tuple[str, float, datetime]]) -> list[Served]:
        """Serve ``(unit, draw, time)`` visits in order, the clock at each visit's time."""

        async def run() -> list[Served]:
            served = []
            for unit, draw, at in visits:
                self.clock.at = at
                token = self._request(at).enter()
                try:
                    answer = await self.serving.predict(ENDPOINT, unit, [{"draw": draw}])
                finally:
                    RequestContext.leave(token)
                served.append(_served(answer))
            return served

        return self.loop.run_until_complete(run())

    def rank(self, visits: Sequence[tuple[str, datetime]]) -> list[Served]:
        async def run() -> list[Served]:
            served = []
            for unit, at in visits:
                self.clock.at = at
                token = self._request(at).enter()
                try:
                    answer = await self.serving.rank(ENDPOINT, unit, RANKED_ITEMS, {})
                finally:
                    RequestContext.leave(token)
                served.append(_served(answer))
            return served

        return self.loop.run_until_complete(run())

    def _request(self, at: datetime) -> RequestContext:
        milliseconds = int(at.timestamp() * 1000)
        return RequestContext(f"{milliseconds:012x}7{self.ids.getrandbits(76):019x}")

    def feedback(self, events: Sequence[tuple[str, str | None, datetime]]) -> None:
        """Clicks ``(request id, item or None, time)``, committed as POST /v1/feedback does."""
        if not events:
            return
        batch = [
            FeedbackEvent(
                event_id=time_ordered_id(), request_id=request, kind="click", at=at, item=item
            )
            for request, item, at in events
        ]
        self.committer.submit(batch).result()

    # -- looking -------------------------------------------------------------------------

    def look(self, hour: int) -> Outcome | None:
        """At ``hour`` hours into the experiment, write what was served and let the
        controller look and act; an Outcome once it ended the experiment (None while it
        runs)."""
        self.clock.at = at_hour(hour)
        self.flush()
        self.folder.tick()
        looks = self.controller.tick()
        self.serving.refresh()
        return outcome_of(looks, hour)

    def flush(self) -> None:
        """Write every prediction event served so far (closing the writer writes its queue)."""
        self.writer.close()
        self.writer.start()

    def share(self) -> float | None:
        params = self.services.endpoints.get(ENDPOINT).params
        share = params.get("share")
        return None if share is None else float(share)

    def report(self) -> dict[str, Any]:
        """The experiment's report as GET /v1/endpoints/{endpoint}/experiment answers it."""
        experiments = self.services.experiments
        body: dict[str, Any] = experiments.report(experiments.get(ENDPOINT)).to_json()
        return body


def _served(answer: Answer) -> Served:
    version = answer.served.version.number
    return Served(answer.request_id, version, tuple(str(i.item) for i in answer.served.items))


def at_hour(hour: int, seconds: float = 0.0) -> datetime:
    return START + timedelta(hours=hour, seconds=seconds)
