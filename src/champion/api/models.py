"""Registry routes: models, versions (upload of a packed folder) and aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from champion.api.render import model_json, version_json
from champion.api.schemas import AliasBody, Reason
from champion.api.state import actor_of, state_of
from champion.api.uploads import unpack, upload_workdir
from champion.errors import InvalidInput
from champion.registry.entities import VersionRef, check_name, path_reference

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
    """Register an uploaded version folder.

    The folder unpacks within ``CHAMPION_MAX_UNPACKED_BYTES`` and ``CHAMPION_MAX_UNPACKED_FILES``
    (413 past them); a version that runs its own code when loaded is refused (403) unless the
    server runs with ``CHAMPION_ALLOW_CODE_UPLOADS=true``; a full disk answers 507 with
    nothing registered.
    """
    check_name("model", model)
    settings = state_of(request).services.settings
    with upload_workdir(settings.home) as workdir:
        folder = unpack(
            file.file,
            workdir,
            max_bytes=settings.max_unpacked_bytes,
            max_files=settings.max_unpacked_files,
        )
        version = state_of(request).services.registry.register(
            folder,
            model=model,
            actor=actor_of(request),
            reason=reason,
            aliases_to_set=tuple(a.strip() for a in aliases.split(",") if a.strip()),
            allow_code=settings.allow_code_uploads,
        )
    return version_json(version)


@router.delete("/{model}/versions/{version}")
def delete_version(
    model: str, version: str, request: Request, reason: Annotated[Reason, Query()] = ""
) -> dict[str, Any]:
    """Delete a version (by number): 409 while an alias points at it or an endpoint serves it.

    Its number is never given again; files no other version shares leave the artifact store.
    Answers the deleted version as it was.
    """
    ref = VersionRef.parse(path_reference(model, version))
    if ref.number is None:
        raise InvalidInput(
            f"version: a version is deleted by its number, got {version!r}; an alias is "
            f"removed with DELETE /v1/models/{model}/aliases/{version}."
        )
    deleted = state_of(request).services.registry.delete_version(
        ref.model, ref.number, actor=actor_of(request), reason=reason
    )
    state_of(request).serving.refresh()
    return version_json(deleted)


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
