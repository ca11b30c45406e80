"""Settings: read once at the edge (CLI, server) from CHAMPION_* variables and passed down."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from champion.periods import parse_window

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Where champion keeps its state and how the server behaves.

    Every field can be set from the environment with the ``CHAMPION_`` prefix, for example
    ``CHAMPION_HOME=/srv/champion`` or
    ``CHAMPION_DATABASE_URL=postgresql://user@host/champion``.
    """

    model_config = SettingsConfigDict(env_prefix="CHAMPION_", extra="ignore", populate_by_name=True)

    home: Path = Field(default=Path(".champion"), description="Folder for state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<home>/champion.db."
    )
    artifacts_url: str | None = Field(
        default=None,
        description=(
            "s3://bucket/prefix: version files in S3-compatible object storage that every "
            "replica shares (extra [s3]; endpoint and credentials from the AWS_* variables); "
            "unset: the folder <home>/artifacts."
        ),
    )
    artifacts_cache_bytes: int = Field(
        default=10 * 1024**3,
        ge=0,
        description="Largest total size of the blobs a replica keeps from object storage in "
        "<home>/cache/artifacts, least recently used out; 0: none kept.",
    )
    host: str = "127.0.0.1"
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description=(
            "Names besides localhost and loopback addresses an open server (no token) is "
            "reached by, comma-separated; other Host headers are refused (DNS rebinding)."
        ),
    )
    port: int = Field(default=8000, ge=0, le=65535)
    event_queue_size: int = Field(default=50_000, ge=1)
    event_batch_size: int = Field(default=1_000, ge=1)
    event_flush_seconds: float = Field(
        default=0.2,
        gt=0,
        description=(
            "How often the prediction events waiting in memory are written: how soon "
            "queries see them, and at most what a killed process loses."
        ),
    )
    event_spool_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=4096,
        description="Prediction events the local spool keeps while the database refuses them.",
    )
    ready_check_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Readiness checks (a write to the database, artifact blobs) run at most "
        "this often; calls in between get the last result.",
    )
    feedback_batch_size: int = Field(default=2_000, ge=1)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)
    max_unpacked_bytes: int = Field(
        default=2 * 1024**3,
        ge=1024,
        description="Largest total size of a version folder unpacked from an upload.",
    )
    max_unpacked_files: int = Field(
        default=10_000, ge=1, description="Most files and folders an uploaded version may hold."
    )
    allow_code_uploads: bool = Field(
        default=False,
        description=(
            "Register versions that run their own code when loaded (python flavor, pickles, "
            "extra skops trusted_types) from HTTP uploads; they then need an admin token "
            "where tokens exist. The local CLI registers them regardless."
        ),
    )
    predict_timeout_seconds: float = Field(default=10.0, gt=0)
    inline_call_ms: float = Field(
        default=2.0,
        ge=0,
        description=(
            "Calls of pure-compute versions (scikit-learn) that take less than this run on "
            "the event loop, without a hand-off to a thread (no timeout applies); 0: never."
        ),
    )
    state_poll_seconds: float = Field(default=0.5, gt=0)
    controller: bool = Field(default=True, description="Run the rollout controller in the server.")
    controller_interval_seconds: float = Field(
        default=10.0, gt=0, description="How often the controller looks at experiments."
    )
    alert_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often the server evaluates alert rules."
    )
    drift_days_interval_seconds: float = Field(
        default=600.0,
        ge=0,
        description=(
            "How often the server (its leader) stores each finished UTC day of predictions "
            "as daily drift windows, so drift history outlives the raw rows; 0: never."
        ),
    )
    drift_days_grace_seconds: float = Field(
        default=3600.0, ge=0, description="How long after a UTC day ends it is summarised."
    )
    drift_days_recheck_seconds: float = Field(
        default=2 * 86_400.0,
        ge=0,
        description=(
            "How far back each pass looks for summarised days that received predictions "
            "late (a spool replayed after an outage) and summarises them again; 0: never."
        ),
    )
    fold_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        description=(
            "How often the server folds logged events into the rollups that reports read "
            "(one server at a time, under a leader lock, in a worker process); 0: never "
            "(reports then read every raw row)."
        ),
    )
    fold_lag_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "Predictions younger than this stay unfolded: most of their feedback has arrived "
            "by the time they are folded, and reports read the rest raw."
        ),
    )
    fold_max_raw: int = Field(
        default=1_000,
        ge=0,
        description=(
            "Requests left unfolded at most, the newest: past this many, the fold pass "
            "folds the older ones before their lag is up, so a report recomputes at most "
            "about this many from raw rows (plus what arrives between passes); 0: no limit."
        ),
    )
    rollup_segment_seconds: int = Field(
        default=3_600,
        ge=60,
        le=86_400,
        description=(
            "Length of a rollup segment, the finest time resolution of folded events and "
            "what compaction takes at once; it divides a day, so UTC midnights stay "
            "boundaries. A time inside a segment (a timeline point, a chart's edge) reads "
            "that segment's raw rows, so shorter segments answer those reads faster and "
            "keep more rows per unit and day. Applies to requests folded from then on."
        ),
    )
    trust_pickle: bool = Field(
        default=False,
        description="Allow sklearn models stored with plain pickle, and MLflow models (whose "
        "loading deserialises what their author saved).",
    )
    onnx_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description=(
            "Threads onnxruntime uses inside one call of an onnx version (intra- and "
            "inter-op); 1 fits a server that already runs one call per request."
        ),
    )
    scheduler: bool = Field(default=True, description="Run pipelines' schedules in the server.")
    scheduler_seconds: float = Field(default=5.0, gt=0, description="How often it looks.")
    pipeline_lease_seconds: float = Field(
        default=3600.0, gt=0, description="A run silent for longer is taken over and resumed."
    )
    check_updates: bool = Field(
        default=False,
        description=(
            "Ask the package index for the newest versions of the packages served versions "
            "were trained with (diagnostics); off, nothing leaves the machine."
        ),
    )
    package_index_url: str = Field(
        default="https://pypi.org/pypi",
        description="JSON API asked when check_updates is on; empty: never ask.",
    )
    package_index_timeout_seconds: float = Field(default=1.0, gt=0)
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description=(
            "Server log lines: json (one JSON object a line), text, or auto: text on a "
            "terminal, json otherwise (a service manager, a container, a file)."
        ),
    )
    access_log: bool = Field(
        default=False,
        description="Log one line per HTTP request (route, status, latency, request id).",
    )
    otel_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHAMPION_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description=(
            "Base URL of an OTLP/HTTP receiver (e.g. http://collector:4318); traces are sent "
            "to <url>/v1/traces. Unset: no tracing at all. Needs the otel extra."
        ),
    )
    keep_predictions: timedelta | None = Field(
        default=None,
        description=(
            "How long prediction events (with their shown items and shadow answers) are kept, "
            "as '30d', '12h', '5m'; unset or 'forever': kept forever. Only rows already "
            "folded into the stored aggregates are deleted."
        ),
    )
    keep_feedback: timedelta | None = Field(
        default=None,
        description=(
            "How long feedback events are kept (same grammar); a feedback row also waits "
            "until its request is deleted and it is folded."
        ),
    )
    keep_unit_rollups: timedelta | None = Field(
        default=None,
        description=(
            "How long the per-unit rollup rows of a segment (and the label and clicked-"
            "position rows) are kept (same grammar); past it they are merged into per-arm "
            "totals, except in windows a running experiment reads. Unset: kept forever."
        ),
    )
    retention_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the leader deletes events past retention."
    )
    retention_batch_size: int = Field(
        default=2_000,
        ge=1,
        le=50_000,
        description="Rows deleted per transaction; small batches keep the write lock short.",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip().lower() for name in value.split(",") if name.strip()]
        return value

    @field_validator("keep_predictions", "keep_feedback", "keep_unit_rollups", mode="before")
    @classmethod
    def _parse_keep(cls, value: object, info: ValidationInfo) -> object:
        if value is None or isinstance(value, timedelta):
            return value
        field = f"CHAMPION_{(info.field_name or '').upper()}"
        if isinstance(value, str) and value.strip().lower() in ("", "forever"):
            return None
        if not isinstance(value, str):
            raise ValueError(
                f"The {field!r} setting must be a duration such as '30d'. Got {value!r} instead."
            )
        return parse_window(value, field=field)

    @field_validator("rollup_segment_seconds")
    @classmethod
    def _divides_a_day(cls, value: int) -> int:
        if 86_400 % value:
            raise ValueError(
                "The 'CHAMPION_ROLLUP_SEGMENT_SECONDS' setting must divide a day (86400 "
                f"seconds), e.g. 300, 3600 or 86400. Got {value!r} instead."
            )
        return value

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def artifacts_cache_dir(self) -> Path:
        """This replica's copies of blobs read from object storage (CHAMPION_ARTIFACTS_URL)."""
        return self.home / "cache" / "artifacts"

    @property
    def datasets_dir(self) -> Path:
        """Ingested data as Parquet, per source; quarantined files beside it."""
        return self.home / "datasets"

    @property
    def spool_dir(self) -> Path:
        """Prediction events waiting for the database, one file per server process."""
        return self.home / "spool"

    @property
    def runtime_dir(self) -> Path:
        """Where loaded versions' files are laid out for import; per process, disposable."""
        return self.home / "runtime"

    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Plain postgresql:// means psycopg 3 here; SQLAlchemy would default to psycopg2.
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.home / 'champion.db').resolve()}"
