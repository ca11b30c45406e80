"""Ingestion: new data files are fingerprinted, screened and stored exactly once.

A source is a folder or a glob of data files (CSV, Parquet or JSON lines, read by
:mod:`champion.datafiles`; or a DataFrame handed in from Python). Each file's content is
fingerprinted with sha256; the (source, sha256) unique key in ``ingested_files`` makes a
second copy of the same content, or a second process racing for it, a no-op. Accepted rows
are written as a Parquet dataset under ``<home>/datasets/<source>/<sha256>.parquet``
*before* the record commits, so a crash between the two leaves the file unrecorded and the
next run ingests it again (the Parquet path is the same, the record is written once). Rows
failing the schema are stored in ``quarantined_rows`` with one reason per bad cell; a file
whose columns differ from the schema is quarantined whole (a copy kept beside the datasets).
The rows that pass the schema then go through the ``quality`` hook
(:class:`~champion.drift.quality.ReferenceQuality`: values against the champion's reference
profile), which quarantines some and counts the rest on the file's record (see
:mod:`champion.drift.quality.quarantine` for the rule). Files whose name starts with a dot
or ends with another suffix (``.tmp``, ``.part``) are being written and are left alone:
write data files under a temporary name and rename them.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa

from champion import audit
from champion.artifacts import sha256_file
from champion.automation.sources import Source
from champion.automation.tables import ingested_files, quarantined_rows
from champion.clock import Clock
from champion.datafiles import read_table
from champion.db import read, write
from champion.drift.quality import (
    QualityFindings,
    QualityRule,
    RejectedRow,
    Screened,
    column_problem,
    describe_counted,
    screen,
)
from champion.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["IngestedFile", "Ingestion", "QualityCheck", "QuarantinedRow"]

QualityCheck: TypeAlias = Callable[
    [str | None, QualityRule | None, "pd.DataFrame"], QualityFindings
]
"""Reference-based checks of the screened rows of a source of a model (``model``, the
source's ``quality`` rule, the rows): which to quarantine (row position → reasons) and the
summary of every finding, kept on the file's record."""


@dataclass(frozen=True)
class IngestedFile:
    id: int
    source: str
    sha256: str
    path: str
    rows: int
    columns: list[str]
    status: str
    reason: str
    accepted_rows: int
    quarantined_rows: int
    dataset: str | None
    ingested_at: datetime
    ingested_by: str
    quality: dict[str, Any] | None = None


@dataclass(frozen=True)
class QuarantinedRow:
    file_id: int
    row: int
    values: dict[str, Any]
    reasons: list[str]


class Ingestion:
    """Ingests sources into ``<home>/datasets`` and keeps the record of every file.

    ``quality`` is where reference-based data-quality checks (values against the champion's
    reference profile: ranges, unseen categories) join the schema screening; rows it flags
    for quarantine are quarantined like rows failing the schema, and what it only counted is
    kept on the file's record.
    """

    def __init__(
        self, engine: sa.Engine, clock: Clock, home: Path, quality: QualityCheck | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.home = home
        self.quality = quality

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    # -- ingesting -----------------------------------------------------------------------

    def pending(
        self, source: Source, digests: dict[tuple[str, int, int], str] | None = None
    ) -> list[tuple[Path, str]]:
        """Files of ``source`` whose content has not been ingested yet, with their sha256.

        ``digests`` caches sha256 by (path, size, mtime) between calls.
        """
        seen = self._known(source.name)
        found = []
        for path in source.files():
            digest = _digest(path, digests)
            if digest not in seen:
                seen.add(digest)  # the same content twice in one folder is one file
                found.append((path, digest))
        return found

    def ingest(
        self,
        source: Source,
        *,
        actor: str,
        progress: Callable[[int, int, str], None] | None = None,
        why: str = "",
        context: Mapping[str, Any] | None = None,
        pending: list[tuple[Path, str]] | None = None,
    ) -> list[IngestedFile]:
        """Ingest every new file of ``source``; return the records this call created.

        ``why`` and ``context`` (e.g. the pipeline run) go in each file's audit record.
        ``pending`` is what ``pending(source)`` answered just before (a caller that sized
        its progress bar on it), so the files are not read for their sha256 twice.
        """
        todo = self.pending(source) if pending is None else pending
        created = []
        for done, (path, digest) in enumerate(todo):
            if progress is not None:
                progress(done, len(todo), path.name)
            record = self._ingest(
                source, str(path), digest, partial(read_table, path, text=True), actor, why, context
            )
            if record is not None:
                created.append(record)
        if progress is not None and todo:
            progress(len(todo), len(todo), "")
        return created

    def ingest_frame(
        self, source: Source, frame: pd.DataFrame, *, name: str, actor: str
    ) -> IngestedFile | None:
        """Ingest a DataFrame as if it were a file called ``name``; None if already ingested."""
        buffer = io.BytesIO()
        frame.to_csv(buffer, index=False)
        digest = _sha256(buffer.getvalue())
        if digest in self._known(source.name):
            return None
        return self._ingest(source, f"dataframe:{name}", digest, lambda: frame, actor, "", None)

    def _ingest(
        self,
        source: Source,
        path: str,
        digest: str,
        load: Callable[[], pd.DataFrame],
        actor: str,
        why: str,
        context: Mapping[str, Any] | None,
    ) -> IngestedFile | None:
        who = _Audit(actor, why, {"model": source.model, **(context or {})})
        try:
            frame = load()
        except InvalidInput as exc:  # the reader names the file and says why
            return self._quarantine_file(source, path, digest, [], 0, f"unreadable: {exc}", who)
        columns = [str(c) for c in frame.columns]
        problem = column_problem(columns, source.fields)
        if problem is not None:
            return self._quarantine_file(
                source, path, digest, columns, len(frame), f"{problem}.", who
            )
        screened, quality = self._screen(frame, source)
        dataset = None
        if screened.accepted.num_rows:
            dataset = self._write_dataset(source.name, digest, screened.accepted)
        rejected = len(screened.rejected)
        status = "accepted" if not rejected else "partial" if dataset else "quarantined"
        reasons = [f"{rejected} of {screened.rows} rows failed the checks"] if rejected else []
        counted = describe_counted(quality)
        reason = "; ".join([*reasons, counted] if counted else reasons)
        return self._record(
            source, path, digest, columns, screened, status, reason, dataset, who,
            quality=quality or None,
        )  # fmt: skip

    def _screen(self, frame: pd.DataFrame, source: Source) -> tuple[Screened, dict[str, Any]]:
        import pyarrow as pa

        screened = screen(frame, source.fields)
        if self.quality is None or not screened.accepted.num_rows:
            return screened, {}
        # Row positions from the quality check are positions among the accepted rows.
        findings = self.quality(source.model, source.quality, screened.accepted.to_pandas())
        flagged = findings.quarantine
        if not any(flagged.values()):
            return screened, findings.summary
        rejected = {b.row for b in screened.rejected}
        accepted_rows = [r for r in range(len(frame)) if r not in rejected]
        more = [
            RejectedRow(
                accepted_rows[i],
                {str(k): v for k, v in frame.iloc[accepted_rows[i]].to_dict().items()},
                tuple(reasons),
            )
            for i, reasons in sorted(flagged.items())
            if reasons
        ]
        keep = [i for i in range(screened.accepted.num_rows) if not flagged.get(i)]
        return Screened(
            screened.accepted.take(pa.array(keep, pa.int64())),
            tuple(sorted((*screened.rejected, *more), key=lambda r: r.row)),
        ), findings.summary

    def _write_dataset(self, source: str, digest: str, table: pa.Table) -> str:
        import pyarrow.parquet as pq

        relative = Path("datasets") / source / f"{digest}.parquet"
        target = self.home / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=".parquet")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return relative.as_posix()

    def _quarantine_file(
        self,
        source: Source,
        path: str,
        digest: str,
        columns: list[str],
        rows: int,
        reason: str,
        who: _Audit,
    ) -> IngestedFile | None:
        import pyarrow as pa

        kept = None
        if not path.startswith("dataframe:"):
            relative = Path("datasets") / source.name / "quarantine" / (digest + Path(path).suffix)
            (self.home / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.home / relative)
            kept = relative.as_posix()
        empty = Screened(pa.table({}), ())
        return self._record(
            source, path, digest, columns, empty, "quarantined", reason, None, who, rows, kept
        )

    def _record(
        self,
        source: Source,
        path: str,
        digest: str,
        columns: list[str],
        screened: Screened,
        status: str,
        reason: str,
        dataset: str | None,
        who: _Audit,
        rows: int | None = None,
        kept: str | None = None,
        quality: dict[str, Any] | None = None,
    ) -> IngestedFile | None:
        now = self.clock.now()
        values = dict(
            source=source.name,
            sha256=digest,
            path=path,
            rows=screened.rows if rows is None else rows,
            columns=columns,
            status=status,
            reason=reason,
            accepted_rows=screened.accepted.num_rows,
            quarantined_rows=len(screened.rejected) if rows is None else rows,
            dataset=dataset or kept,
            ingested_at=now,
            ingested_by=who.actor,
            quality=quality,
        )
        try:
            with write(self.engine) as conn:
                file_id = conn.execute(
                    ingested_files.insert().values(**values).returning(ingested_files.c.id)
                ).scalar_one()
                if screened.rejected:
                    conn.execute(
                        quarantined_rows.insert(),
                        [
                            {
                                "file_id": file_id,
                                "row": r.row,
                                "values": r.values,
                                "reasons": list(r.reasons),
                            }
                            for r in screened.rejected
                        ],
                    )
                details = {k: v for k, v in values.items() if k not in {"ingested_at"}}
                audit.record(
                    conn,
                    at=now,
                    actor=who.actor,
                    action="data.quarantine" if status == "quarantined" else "data.ingest",
                    target=source.name,
                    details={"file": file_id, **details, **who.details},
                    reason="; ".join(part for part in (who.why, reason) if part),
                )
        except sa.exc.IntegrityError:
            return None  # another process recorded the same content first
        return self.get(file_id)

    # -- reading -------------------------------------------------------------------------

    def get(self, file_id: int) -> IngestedFile:
        with read(self.engine) as conn:
            row = conn.execute(
                sa.select(ingested_files).where(ingested_files.c.id == file_id)
            ).first()
        if row is None:
            raise NotFound(f"Unknown ingested file {file_id!r}.")
        return IngestedFile(**row._mapping)

    def files(self, source: str | None = None, limit: int = 1000) -> list[IngestedFile]:
        """Records of ingested files, oldest first."""
        query = sa.select(ingested_files).order_by(ingested_files.c.id).limit(limit)
        if source is not None:
            query = query.where(ingested_files.c.source == source)
        with read(self.engine) as conn:
            return [IngestedFile(**row._mapping) for row in conn.execute(query)]

    def quarantine(self, file_id: int) -> list[QuarantinedRow]:
        self.get(file_id)
        with read(self.engine) as conn:
            rows = conn.execute(
                sa.select(quarantined_rows)
                .where(quarantined_rows.c.file_id == file_id)
                .order_by(quarantined_rows.c.row)
            )
            return [QuarantinedRow(**row._mapping) for row in rows]

    def read(self, files: Sequence[IngestedFile]) -> pd.DataFrame:
        """The accepted rows of ``files`` in the given order, with the declared types."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [
            pq.read_table(self.home / f.dataset)
            for f in files
            if f.dataset is not None and f.status in {"accepted", "partial"}
        ]
        if not tables:
            raise InvalidInput("No accepted rows to read: every file was quarantined or empty.")
        frame: pd.DataFrame = pa.concat_tables(tables).to_pandas()
        return frame

    def _known(self, source: str) -> set[str]:
        with read(self.engine) as conn:
            return set(
                conn.execute(
                    sa.select(ingested_files.c.sha256).where(ingested_files.c.source == source)
                ).scalars()
            )


@dataclass(frozen=True)
class _Audit:
    """Who ingests, why, and what else the audit record of each file says."""

    actor: str
    why: str
    details: dict[str, Any]


def _digest(path: Path, cache: dict[tuple[str, int, int], str] | None) -> str:
    if cache is None:
        return sha256_file(path)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in cache:
        cache[key] = sha256_file(path)
    return cache[key]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
