"""Registry routes: models, versions (upload of a packed folder) and aliases."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from champion.api.render import model_json, version_json
from champion.api.schemas import AliasBody, Reason
from champion.api.state import actor_of, state_of
from champion.errors import InvalidInput
from champion.registry.entities import check_name, path_reference
from champion.registry.manifest import MANIFEST

__all__ = ["router"]

router = APIRouter(prefix="/v1/models", tags=["registry"])


@router.get("")
def list_models(request: Request) -> dict[str, Any]:
    registry = state_of(request).services.registry
    return {"models": [model_json(m) for m in registry.list_models()]}


@router.get("/{model}")
def get_model(model: str, request: Request) -> dict[str, Any]:
    registry = state_of(request).services.registry
    body = model_json(registry.get_model(model))
    body["versions"] = [version_json(v) for v in registry.list_versions(model)]
    return body


@router.get("/{model}/versions/{version}")
def get_version(model: str, version: str, request: Request) -> dict[str, Any]:
    """``version`` is a number or an alias: ``/v1/models/recs/versions/champion``."""
    registry = state_of(request).services.registry
    return version_json(registry.resolve(path_reference(model, version)))


@router.post("/{model}/versions", status_code=201)
def register_version(
    model: str,
    request: Request,
    file: UploadFile = File(description="The version folder packed as .tar.gz"),  # noqa: B008
    aliases: str = Form(default="", description="Comma-separated aliases to set"),
    reason: Annotated[Reason, Form()] = "",
) -> dict[str, Any]:
    check_name("model", model)
    state = state_of(request)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=_tmp(state.services.settings.home)))
    try:
        folder = _unpack(file, workdir)
        version = state.services.registry.register(
            folder,
            model=model,
            actor=actor_of(request),
            reason=reason,
            aliases_to_set=tuple(a.strip() for a in aliases.split(",") if a.strip()),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return version_json(version)


@router.put("/{model}/aliases/{alias}")
def set_alias(model: str, alias: str, body: AliasBody, request: Request) -> dict[str, Any]:
    registry = state_of(request).services.registry
    version = registry.set_alias(
        model, alias, body.version, actor=actor_of(request), reason=body.reason
    )
    state_of(request).serving.refresh()
    return version_json(version)


@router.delete("/{model}/aliases/{alias}", status_code=204)
def remove_alias(
    model: str, alias: str, request: Request, reason: Annotated[Reason, Query()] = ""
) -> None:
    state_of(request).services.registry.remove_alias(
        model, alias, actor=actor_of(request), reason=reason
    )
    state_of(request).serving.refresh()


def _tmp(home: Path) -> Path:
    path = home / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _unpack(upload: UploadFile, workdir: Path) -> Path:
    target = workdir / "unpacked"
    target.mkdir()
    try:
        with tarfile.open(fileobj=upload.file, mode="r:*") as archive:
            # The "data" filter refuses absolute paths, '..', links out of the folder and devices.
            archive.extractall(target, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInput(f"file: not a readable .tar.gz of a version folder ({exc}).") from None
    if (target / MANIFEST).is_file():
        return target
    entries = list(target.iterdir())
    if len(entries) == 1 and (entries[0] / MANIFEST).is_file():
        return entries[0]
    raise InvalidInput(f"file: the archive has no {MANIFEST} at its top or in its single folder.")
