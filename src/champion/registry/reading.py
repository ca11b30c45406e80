"""Reading the registry: its rows as models and versions, and references resolved to versions.

Every read here and every write elsewhere in the registry finds a model, a version or an alias
through the same few helpers, so an unknown name is refused with the same message (naming
what does exist) whether it was asked for or written to.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from champion.db import read
from champion.errors import InvalidInput, NotFound
from champion.registry.entities import Model, Version, VersionRef
from champion.registry.listing import (
    MAX_PAGE,
    VersionFilter,
    VersionPage,
    decode_cursor,
    encode_cursor,
    select_page,
)
from champion.registry.tables import aliases, models, versions

__all__ = [
    "alias_map",
    "alias_number",
    "find_versions",
    "get_model",
    "get_version",
    "list_models",
    "list_versions",
    "model_entity",
    "require_model",
    "resolve",
    "version_at",
    "version_entity",
    "version_row",
]


def list_models(engine: sa.Engine) -> list[Model]:
    with read(engine) as conn:
        names = conn.execute(sa.select(models.c.name).order_by(models.c.name)).scalars()
        return [model_entity(conn, name) for name in names]


def get_model(engine: sa.Engine, name: str) -> Model:
    with read(engine) as conn:
        return model_entity(conn, name)


def list_versions(engine: sa.Engine, model: str) -> list[Version]:
    with read(engine) as conn:
        model_entity(conn, model)
        found = alias_map(conn, model)
        rows = conn.execute(
            sa.select(versions)
            .where((versions.c.model == model) & versions.c.deleted_at.is_(None))
            .order_by(versions.c.number)
        )
        return [version_entity(row._mapping, found) for row in rows]


def find_versions(
    engine: sa.Engine, model: str, flt: VersionFilter | None, *, limit: int, cursor: str | None
) -> VersionPage:
    """A page of ``model``'s versions, newest first (see ``Registry.find_versions``)."""
    flt = flt or VersionFilter()
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: must be between 1 and {MAX_PAGE}, got {limit!r}.")
    before = None if cursor is None else decode_cursor(cursor)
    with read(engine) as conn:
        require_model(conn, model)
        found_aliases = alias_map(conn, model)
        number = None if flt.alias is None else alias_number(conn, model, flt.alias)
        query = select_page(model, flt, number, before, limit)
        rows = [row._mapping for row in conn.execute(query)]
    found = [version_entity(row, found_aliases) for row in rows[:limit]]
    more = len(rows) > limit
    return VersionPage(found, encode_cursor(found[-1].number) if more else None)


def get_version(engine: sa.Engine, model: str, number: int) -> Version:
    with read(engine) as conn:
        return version_at(conn, model, number)


def resolve(engine: sa.Engine, ref: str | VersionRef) -> Version:
    """The version ``recs/3`` or ``recs@champion`` points at now."""
    parsed = VersionRef.parse(ref) if isinstance(ref, str) else ref
    with read(engine) as conn:
        number = parsed.number
        if parsed.alias is not None:
            number = alias_number(conn, parsed.model, parsed.alias)
        assert number is not None  # VersionRef always has a number or an alias
        return version_at(conn, parsed.model, number)


def model_entity(conn: sa.Connection, name: str) -> Model:
    """Model ``name`` with its counts and aliases; an unknown one is refused naming the known."""
    row = conn.execute(sa.select(models).where(models.c.name == name)).first()
    if row is None:
        known = conn.execute(sa.select(models.c.name).order_by(models.c.name)).scalars().all()
        raise NotFound(f"Unknown model {name!r}. Models: {', '.join(known) or '(none)'}.")
    latest, count = conn.execute(
        sa.select(sa.func.max(versions.c.number), sa.func.count()).where(
            (versions.c.model == name) & versions.c.deleted_at.is_(None)
        )
    ).one()
    return Model(
        name=name,
        created_at=row.created_at,
        created_by=row.created_by,
        latest=latest,
        version_count=count,
        aliases=alias_map(conn, name),
    )


def require_model(conn: sa.Connection, name: str) -> None:
    """Refuse an unknown model as ``model_entity`` does, without counting its versions."""
    # A page of 10^5 versions need not count them.
    if conn.execute(sa.select(models.c.name).where(models.c.name == name)).first() is None:
        model_entity(conn, name)  # raises NotFound with the known names


def alias_map(conn: sa.Connection, model: str) -> dict[str, int]:
    """``{alias: version number}`` of ``model``, by alias."""
    rows = conn.execute(
        sa.select(aliases.c.alias, aliases.c.number)
        .where(aliases.c.model == model)
        .order_by(aliases.c.alias)
    )
    return {alias: number for alias, number in rows}


def alias_number(conn: sa.Connection, model: str, alias: str) -> int:
    """The version ``model@alias`` points at; an unknown alias is refused naming the known."""
    require_model(conn, model)
    found = alias_map(conn, model)
    if alias not in found:
        raise NotFound(
            f"Unknown alias {alias!r} on model {model!r}. Aliases: {', '.join(found) or '(none)'}."
        )
    return found[alias]


def version_at(conn: sa.Connection, model: str, number: int, *, lock: bool = False) -> Version:
    """Version ``number`` of ``model`` with its aliases, refused as ``version_row`` refuses."""
    return version_entity(version_row(conn, model, number, lock=lock), alias_map(conn, model))


def version_row(conn: sa.Connection, model: str, number: int, *, lock: bool = False) -> Any:
    """The live row of ``model/number``; a deleted or unknown one is refused naming the latest.

    ``lock`` holds the row until the transaction ends.
    """
    require_model(conn, model)
    query = sa.select(versions).where((versions.c.model == model) & (versions.c.number == number))
    # Pointing an alias at a version and deleting it both lock its row (PostgreSQL; SQLite
    # writes one at a time): neither can act on what the other is changing.
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None or row.deleted_at is not None:
        latest = conn.execute(
            sa.select(sa.func.max(versions.c.number)).where(
                (versions.c.model == model) & versions.c.deleted_at.is_(None)
            )
        ).scalar_one()
        gone = (
            ""
            if row is None
            else f" (deleted {row.deleted_at:%Y-%m-%d %H:%M} UTC by {row.deleted_by})"
        )
        raise NotFound(
            f"Unknown version {model}/{number}{gone}. Latest version of {model!r}: {latest}."
        )
    return row._mapping


def version_entity(row: Any, aliases_by_name: dict[str, int]) -> Version:
    """The ``Version`` of a versions row, with the aliases among ``aliases_by_name`` on it."""
    return Version(
        model=row["model"],
        number=row["number"],
        kind=row["kind"],
        flavor=row["flavor"],
        manifest=row["manifest"],
        files=row["files"],
        size_bytes=row["size_bytes"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        aliases=tuple(a for a, n in aliases_by_name.items() if n == row["number"]),
    )
