"""Shared fixtures: every test that touches storage runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.services import Services
from champion.settings import Settings
from tests.fixtures.environment import cannot
from tests.fixtures.fresh_database import PostgresTemplate, copy_sqlite, migrated_sqlite_file

FIXTURES = Path(__file__).parent / "fixtures" / "models"
POSTGRES_URL = os.environ.get("CHAMPION_TEST_POSTGRES_URL")


@pytest.hookimpl(tryfirst=True)  # before the fixture's own params apply
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module whose checks cannot depend on the database says why in ``ONE_DATABASE``; its
    tests then run on SQLite only (the rest of the suite runs each storage test on both)."""
    if getattr(metafunc.module, "ONE_DATABASE", None) and "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", [None], ids=["sqlite"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, the slowest at the head (``@pytest.mark.slow(seconds=...)``).

    pytest-xdist hands tests to its workers in this order, one at a time (``--maxschedchunk=1``
    in pyproject.toml): a long test that came last would run alone at the end while the other
    workers wait for it.
    """
    items.sort(key=_expected_seconds, reverse=True)  # stable: the rest keep their order


def _expected_seconds(item: pytest.Item) -> float:
    slow = item.get_closest_marker("slow")
    if slow is None:
        return 0.0
    return float(slow.kwargs.get("seconds", 1.0))


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A database of this test session's own, so concurrent runs never share one."""
    if not POSTGRES_URL:
        yield None
        return
    name = f"champion_test_{uuid.uuid4().hex[:12]}"
    admin = _engine(POSTGRES_URL)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield str(sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = _engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str | None) -> Iterator[PostgresTemplate | None]:
    if postgres_url is None:
        yield None
        return
    template = PostgresTemplate(postgres_url)
    yield template
    template.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_file(tmp_path_factory.mktemp("migrated"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, postgres_template: PostgresTemplate | None
) -> str | None:
    """None for SQLite (the default: <home>/champion.db); a freshly migrated PostgreSQL."""
    if request.param == "sqlite":
        return None
    if postgres_template is None:
        cannot("PostgreSQL not available: set CHAMPION_TEST_POSTGRES_URL (.ci/run does).")
    postgres_template.reset()
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str | None,
    sqlite_template: Path,
    postgres_template: PostgresTemplate | None,
) -> Settings:
    """A fresh home on a freshly migrated database; ``@pytest.mark.unmigrated``: an empty one."""
    if request.node.get_closest_marker("unmigrated") is not None:
        if database_url is not None and postgres_template is not None:
            postgres_template.empty()
    elif database_url is None:
        copy_sqlite(sqlite_template, tmp_path / "home")
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        state_poll_seconds=0.1,
        event_flush_seconds=0.02,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    opened = Services.open(settings)
    yield opened
    opened.close()


@pytest.fixture
def model_folder(tmp_path: Path) -> ModelFolders:
    return ModelFolders(tmp_path / "models")


class ModelFolders:
    """Copies of the fixture models that a test may change freely."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, name: str) -> Path:
        target = self.root / name
        if not target.exists():
            shutil.copytree(FIXTURES / name, target)
        return target


def local_client(app: FastAPI) -> TestClient:
    """A test client as champion's own callers are: on a loopback name, saying it is no form."""
    return TestClient(app, base_url="http://127.0.0.1", headers={"X-Champion-Request": "1"})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with local_client(create_app(settings)) as test_client:
        yield test_client


def wait_until_written(client: TestClient, seconds: float = 10.0) -> None:
    """Wait until the app has stored every prediction event it accepted (they are written off
    the response path), instead of sleeping for a guess."""
    writer = client.app.state.champion.writer  # type: ignore[attr-defined]  # set by the lifespan
    deadline = time.monotonic() + seconds
    while writer.pending():
        assert time.monotonic() < deadline, f"Prediction events still unwritten after {seconds} s."
        time.sleep(0.01)


class LiveServer:
    """The app served by uvicorn on a free loopback port, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from champion.server_process import free_port

        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The live server did not start.")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """A real server on loopback over the test's settings (start fixtures before it)."""
    with LiveServer(settings) as server:
        yield server


def churn_canary(services: Services, model_folder: ModelFolders, share: float) -> None:
    """Two versions of the constant model, @champion and @challenger, on a canary 'churn'
    sending ``share`` of the units to the challenger."""
    for alias in ("champion", "challenger"):
        services.registry.register(
            model_folder("constant"), model="churn", actor="t", aliases_to_set=(alias,)
        )
    params = {"champion": "churn@champion", "challenger": "churn@challenger", "share": share}
    services.endpoints.set("churn", "canary", params, actor="t")


@pytest.fixture
def served(services: Services, model_folder: ModelFolders) -> Services:
    """A classifier endpoint 'churn' and a ranker endpoint 'recs', both on @champion."""
    services.registry.register(
        model_folder("constant"), model="churn", actor="tests", aliases_to_set=("champion",)
    )
    services.registry.register(
        model_folder("echo_ranker"), model="recs", actor="tests", aliases_to_set=("champion",)
    )
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="tests")
    services.endpoints.set("recs", "single", {"version": "recs@champion"}, actor="tests")
    return services
