"""Ingested rows against the champion's reference profile: what quarantines, what is counted.

After the schema screening (:mod:`champion.drift.quality.schema`: types, nullability) the
accepted rows are checked with :func:`~champion.drift.quality.checks.check_frame` against the
stored reference profile of the model's ``rule.against`` version (``champion`` by default).
Each finding is one of:

* **quarantined**: the row is set aside with its reasons and never used. By default a type
  error (a value the reference's column type cannot hold) and a value far outside the
  reference range: more than ``range_margin`` times the reference range (maximum - minimum)
  beyond it on either side, such as a charge of 8150 where the reference goes up to 119 (a
  lost decimal point), or a 0/1 column holding 7;
* **counted**: the row is used and the finding counted on the file's record, its audit record
  and its reason. By default unseen categories, values outside the reference range but within
  the margin, and missing values where the reference had none (the schema, which says which
  columns are nullable, already refused the others). These are the drift itself: a retrained
  model has to learn from them.

The rule's ``quarantine`` chooses which checks quarantine (a pipeline's ``quality`` section,
:class:`~champion.automation.spec.QualitySpec`). A model without the alias (its first run), or
a version without a stored reference, is not checked, and the file's record says so: nothing
is silently dropped, nothing silently used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from champion.drift.profile import ReferenceProfile
from champion.drift.quality.checks import check_frame
from champion.errors import NotFound
from champion.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

    from champion.drift.references import References

__all__ = ["QualityFindings", "QualityRule", "ReferenceQuality", "describe_counted"]


class QualityRule(Protocol):
    """Which reference the rows are checked against and which findings quarantine a row."""

    @property
    def against(self) -> str | None: ...
    @property
    def quarantine(self) -> Sequence[str]: ...
    @property
    def range_margin(self) -> float: ...


_LABELS = {
    "missing": ("missing value", "missing values"),
    "type": ("type error", "type errors"),
    "range": ("value outside the reference range", "values outside the reference range"),
    "category": ("unseen category", "unseen categories"),
}


@dataclass(frozen=True)
class QualityFindings:
    """Row position → reasons for the rows to quarantine, and the summary kept on the record.

    ``summary`` holds ``reference`` (the version checked against, or None and ``skipped``
    with why), ``quarantined`` and ``counted``: per check, per column, how many rows.
    """

    quarantine: Mapping[int, Sequence[str]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


class ReferenceQuality:
    """The ingestion quality hook: ``ReferenceQuality(registry, references)(model, rule, frame)``
    checks the rows of a source of ``model`` as ``rule`` says."""

    def __init__(self, registry: Registry, references: References) -> None:
        self.registry = registry
        self.references = references

    def __call__(
        self, model: str | None, rule: QualityRule | None, frame: pd.DataFrame
    ) -> QualityFindings:
        if model is None or rule is None or rule.against is None:
            return QualityFindings(summary={"reference": None, "skipped": "no reference checks"})
        ref = f"{model}@{rule.against}"
        try:
            key = self.registry.resolve(ref).key
        except NotFound:
            skipped = f"{ref} does not exist yet, so there is no reference to check against"
            return QualityFindings(summary={"reference": None, "skipped": skipped})
        stored = self.references.find(key)
        if stored is None:
            skipped = f"{key} has no reference profile"
            return QualityFindings(summary={"reference": str(key), "skipped": skipped})
        names = set(map(str, frame.columns))
        present = [c for c in stored.profile.columns if c.name in names]
        inputs = ReferenceProfile(
            stored.profile.rows, tuple(c for c in present if c.name in stored.input_columns)
        )
        absent = [n for n in stored.input_columns if n not in names]
        return _classify(frame, inputs, rule.quarantine, rule.range_margin, str(key), absent)


def _classify(
    frame: pd.DataFrame,
    reference: ReferenceProfile,
    quarantining: Sequence[str],
    margin: float,
    version: str,
    absent: list[str],
) -> QualityFindings:
    found = check_frame(frame, reference)
    far: set[tuple[int, str]] = set()
    if "range" in quarantining:
        beyond = check_frame(frame, reference, checks=["range"], margin=margin)
        far = {(i.row, i.column) for i in beyond.issues()}
    quarantine: dict[int, list[str]] = {}
    quarantined: dict[str, dict[str, int]] = {}
    counted: dict[str, dict[str, int]] = {}
    for issue in found.issues():
        if issue.check == "range":
            bad = (issue.row, issue.column) in far
        else:
            bad = issue.check in quarantining
        if bad:
            reason = issue.reason
            if issue.check == "range":
                reason += f", more than {margin:g} times the reference range beyond it"
            quarantine.setdefault(issue.row, []).append(reason)
        tally = quarantined if bad else counted
        per_column = tally.setdefault(issue.check, {})
        per_column[issue.column] = per_column.get(issue.column, 0) + 1
    summary: dict[str, Any] = {
        "reference": version,
        "rows": len(frame),
        "quarantined": quarantined,
        "counted": counted,
    }
    if absent:
        summary["not_checked"] = absent
    return QualityFindings(quarantine, summary)


def describe_counted(summary: Mapping[str, Any]) -> str:
    """What was counted but not quarantined, in words; '' when nothing was.

    >>> describe_counted({"counted": {"category": {"plan": 3}, "range": {"tenure": 1}}})
    'counted and used: 1 value outside the reference range (tenure), 3 unseen categories (plan)'
    """
    parts = []
    counted: Mapping[str, Mapping[str, int]] = summary.get("counted") or {}
    for check in sorted(counted, key=lambda c: list(_LABELS).index(c)):
        columns = counted[check]
        n = sum(columns.values())
        parts.append(f"{n} {_LABELS[check][n != 1]} ({', '.join(sorted(columns))})")
    return "counted and used: " + ", ".join(parts) if parts else ""
