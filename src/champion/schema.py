"""The whole schema: importing this module registers every service's tables on ``metadata``."""

from __future__ import annotations

import champion.access.tables
import champion.alerts.tables
import champion.audit
import champion.automation.tables
import champion.diagnostics.tables
import champion.drift.tables
import champion.evaluation.tables
import champion.events.rollup_tables
import champion.events.tables
import champion.events.total_tables
import champion.registry.tables
import champion.serving.tables  # noqa: F401
from champion.db.metadata import metadata

__all__ = ["metadata"]
