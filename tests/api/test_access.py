"""Every route of the app, enumerated: without the right token, nothing happens."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from champion.access import SCOPES, grants, required_scope
from champion.api import create_app
from champion.db import read
from champion.schema import metadata
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
SINGLE = {"version": "churn/1"}
# Path parameters naming things that exist, so a call that got through would change them.
PARAMS = {"model": "churn", "endpoint": "churn", "alias": "champion", "version": "1"}
# Valid bodies for the routes known today; a route added later is called with {} (and must be
# refused before its body is even read, which the status check proves).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/endpoints/{endpoint}"): {"json": {"policy": "single", "params": SINGLE}},
    ("PUT", "/v1/models/{model}/aliases/{alias}"): {"json": {"version": 1}},
    ("POST", "/v1/endpoints/{endpoint}/predict"): {"json": {"instances": [ROW]}},
    ("POST", "/v1/endpoints/{endpoint}/rank"): {"json": {"k": 2}},
    ("POST", "/v1/feedback"): {"json": {"request_id": "r1", "kind": "click"}},
    ("POST", "/v1/feedback/batch"): {"json": {"events": [{"request_id": "r1", "kind": "click"}]}},
}  # fmt: skip


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if route.path is not None:
            found += [(method, route.path) for method in sorted(route.methods or ())]
    return found


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS.get(m.group(1), "x"), path)


def _snapshot(services: Services) -> dict[str, list[Any]]:
    with read(services.engine) as conn:
        return {
            name: sorted(map(repr, conn.execute(sa.select(table))))
            for name, table in metadata.tables.items()
        }


# One token per scope, and one holding every scope but admin.
TOKENS = {s: frozenset({s}) for s in SCOPES} | {
    "all-but-admin": frozenset({"read", "predict", "feedback"})
}


@pytest.fixture
def secrets(served: Services) -> dict[str, str]:
    return {name: served.tokens.create(name, s, actor="tests")[1] for name, s in TOKENS.items()}


@pytest.fixture
def guarded(secrets: dict[str, str], settings: Settings) -> Iterator[TestClient]:
    with local_client(create_app(settings)) as client:
        yield client


def _call(client: TestClient, method: str, path: str, token: str | None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.request(method, _url(path), headers=headers, **BODIES.get((method, path), {}))


def test_every_route_refuses_missing_wrong_and_insufficient_tokens(
    served: Services, secrets: dict[str, str], guarded: TestClient
) -> None:
    routes = _routes(guarded)
    assert len(routes) >= 14  # the enumeration sees the app's routes
    before = _snapshot(served)
    for method, path in routes:
        needed = required_scope(method, _url(path))
        if needed is None:
            continue
        for token, status in [(None, 401), ("champ_wrong", 401), ("", 401)]:
            response = _call(guarded, method, path, token)
            assert response.status_code == status, (method, path, token, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
        weaker = [name for name, scopes in TOKENS.items() if not grants(scopes, needed)]
        assert weaker
        for name in weaker:
            response = _call(guarded, method, path, secrets[name])
            assert response.status_code == 403, (method, path, name, response.text)
            assert method == "HEAD" or f"needs the {needed!r} scope" in response.text
    assert _snapshot(served) == before  # nothing changed, not even a logged prediction


def test_the_right_scope_gets_through_and_names_the_actor(
    served: Services, secrets: dict[str, str], guarded: TestClient
) -> None:
    def call(method: str, path: str, token: str) -> int:
        status: int = _call(guarded, method, path, secrets[token]).status_code
        return status

    assert call("GET", "/v1/models", "read") == 200
    assert call("POST", "/v1/endpoints/{endpoint}/predict", "predict") == 200
    assert call("POST", "/v1/feedback", "feedback") == 201
    assert call("PUT", "/v1/models/{model}/aliases/{alias}", "admin") == 200
    assert call("GET", "/v1/models", "admin") == 200  # admin holds every scope
    with read(served.engine) as conn:
        from champion import audit

        assert audit.list_audit(conn, target="churn", limit=1)[0].actor == "admin"
    assert guarded.get("/v1/health").status_code == 200  # open


def test_a_server_off_loopback_refuses_everything_while_no_token_exists(
    served: Services, settings: Settings
) -> None:
    with local_client(create_app(settings.model_copy(update={"host": "0.0.0.0"}))) as client:
        response = client.get("/v1/models")
        assert response.status_code == 401 and "champion tokens create" in response.text
        assert client.get("/v1/health").status_code == 200
    with local_client(create_app(settings)) as client:  # loopback, no token: open
        assert client.get("/v1/models").status_code == 200


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _archive(*members: tarfile.TarInfo, data: bytes = b"kind: classifier\n") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 17 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    "members",
    [
        [_member("../outside/champion.yaml")],
        [_member("{tmp}/outside/champion.yaml")],
        [_member("model/champion.yaml", tarfile.SYMTYPE, "{tmp}/outside/secret.txt")],
        [_member("model/champion.yaml", tarfile.SYMTYPE, "../../../../outside/secret.txt")],
        [_member("model/champion.yaml", tarfile.LNKTYPE, "{tmp}/outside/secret.txt")],
        # A link inside the folder is extracted, then refused: versions hold regular files.
        [_member("model/real.yaml"), _member("model/champion.yaml", tarfile.SYMTYPE, "real.yaml")],
    ],
    ids=["dotdot", "absolute", "symlink-absolute", "symlink-dotdot", "hardlink", "symlink-in"],
)
def test_no_archive_member_reaches_outside_the_upload(
    members: list[tarfile.TarInfo],
    served: Services,
    client: TestClient,
    tmp_path: Path,
    model_folder: ModelFolders,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("kind: classifier\nflavor: python\n")
    for member in members:
        member.name = member.name.replace("{tmp}", str(tmp_path))
        member.linkname = member.linkname.replace("{tmp}", str(tmp_path))
    before = _files(tmp_path)
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("x.tar.gz", _archive(*members), "application/gzip")},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "InvalidInput"
    assert _files(tmp_path) == before  # nothing written anywhere, and the upload cleaned up
    assert (outside / "secret.txt").read_text().startswith("kind")
    assert client.get("/v1/models/churn").json()["version_count"] == 1
