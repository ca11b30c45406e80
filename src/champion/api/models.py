"""Registry routes: models, versions (upload of a packed folder) and aliases."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from champion.answers import ModelAnswer, ModelListAnswer, VersionAnswer, VersionPageAnswer
from champion.api.answers import ERRORS, LOOKUP, WRITE
from champion.api.render import model_json, version_json
from champion.api.schemas import AliasBody, ModelName, Reason
from champion.api.state import actor_of, state_of
from champion.api.uploads import unpack, upload_workdir
from champion.clock import UserTime
from champion.errors import InvalidInput
from champion.registry import MetricFilter, VersionFilter
from champion.registry.entities import VersionRef, check_name, path_reference
from champion.registry.listing import MAX_PAGE

__all__ = ["router"]

router = APIRouter(prefix="/v1/models", tags=["registry"], responses=ERRORS)


@router.get("", response_model=ModelListAnswer)
def list_models(request: Request) -> dict[str, Any]:
    registry = state_of(request).services.registry
    return {"models": [model_json(m) for m in registry.list_models()]}


LATEST_VERSIONS = 10
"""How many versions ``GET /v1/models/{model}`` shows (the newest); the listing has them all."""


@router.get("/{model}", response_model=ModelAnswer, responses=LOOKUP)
def get_model(model: ModelName, request: Request) -> dict[str, Any]:
    """The model with its newest versions (at most 10, newest first); every version, a page
    at a time and filtered, is at ``versions_url``."""
    registry = state_of(request).services.registry
    body = model_json(registry.get_model(model))
    page = registry.find_versions(model, limit=LATEST_VERSIONS)
    body["versions"] = [version_json(v) for v in page.versions]
    body["versions_url"] = f"/v1/models/{quote(model)}/versions"
    return body


@router.get("/{model}/versions", response_model=VersionPageAnswer, responses=LOOKUP)
def list_versions(
    model: ModelName,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Versions per page.")] = 100,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="The previous page's next_cursor; none: the first."),
    ] = None,
    tag: Annotated[
        list[str] | None,
        Query(description="key:value, or key for any value; repeatable (all must hold)."),
    ] = None,
    alias: Annotated[str | None, Query(description="Only the version this alias names.")] = None,
    creator: Annotated[str | None, Query(max_length=128, description="Who registered it.")] = None,
    created_after: UserTime | None = None,
    created_before: UserTime | None = None,
    metric: Annotated[
        list[str] | None,
        Query(description="A lineage metric threshold such as auc>0.8; repeatable."),
    ] = None,
) -> dict[str, Any]:
    """The model's versions, newest first, a page at a time: pass ``next_cursor`` back as
    ``cursor`` for the next page (null on the last). Pages neither repeat nor skip a version
    while new ones are registered (those come before the first page)."""
    if alias is not None:
        check_name("alias", alias)
    flt = VersionFilter(
        tags=VersionFilter.parse_tags(tag or []),
        alias=alias,
        creator=creator,
        created_after=created_after,
        created_before=created_before,
        metrics=tuple(MetricFilter.parse(m) for m in metric or []),
    )
    registry = state_of(request).services.registry
    page = registry.find_versions(model, flt, limit=limit, cursor=cursor)
    return {
        "model": model,
        "versions": [version_json(v) for v in page.versions],
        "next_cursor": page.next_cursor,
    }


@router.get("/{model}/versions/{version}", response_model=VersionAnswer, responses=LOOKUP)
def get_version(model: ModelName, version: str, request: Request) -> dict[str, Any]:
    """``version`` is a number or an alias: ``/v1/models/recs/versions/champion``."""
    registry = state_of(request).services.registry
    return version_json(registry.resolve(path_reference(model, version)))


@router.post("/{model}/versions", status_code=201, response_model=VersionAnswer, responses=WRITE)
def register_version(
    model: ModelName,
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


@router.delete("/{model}/versions/{version}", response_model=VersionAnswer, responses=WRITE)
def delete_version(
    model: ModelName, version: str, request: Request, reason: Annotated[Reason, Query()] = ""
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


@router.put("/{model}/aliases/{alias}", response_model=VersionAnswer, responses=WRITE)
def set_alias(model: ModelName, alias: str, body: AliasBody, request: Request) -> dict[str, Any]:
    registry = state_of(request).services.registry
    version = registry.set_alias(
        model, alias, body.version, actor=actor_of(request), reason=body.reason
    )
    state_of(request).serving.refresh()
    return version_json(version)


@router.delete("/{model}/aliases/{alias}", status_code=204, responses=WRITE)
def remove_alias(
    model: ModelName, alias: str, request: Request, reason: Annotated[Reason, Query()] = ""
) -> None:
    state_of(request).services.registry.remove_alias(
        model, alias, actor=actor_of(request), reason=reason
    )
    state_of(request).serving.refresh()
