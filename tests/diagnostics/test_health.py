"""Dependency health tells a database that reads from one that also writes."""

from __future__ import annotations

from champion.diagnostics.health import database_health
from champion.services import Services
from champion.settings import Settings
from tests.fixtures.faults import writes_refused


def test_a_database_that_reads_but_refuses_writes_is_reported_unwritable(
    services: Services, settings: Settings
) -> None:
    healthy = database_health(services.engine)
    assert (healthy["status"], healthy["readable"], healthy["writable"]) == ("ok", True, True)

    with writes_refused(settings):
        refusing = database_health(services.engine)

    assert (refusing["status"], refusing["readable"], refusing["writable"]) == (
        "error",
        True,
        False,
    )
    assert refusing["error"].startswith("The database refused a write: ")
    assert database_health(services.engine)["writable"]
