"""API tokens: created with scopes, stored hashed, checked on every call, revoked for good."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from champion import audit
from champion.access.scopes import SCOPES
from champion.access.tables import api_tokens
from champion.clock import Clock
from champion.db import read, write
from champion.errors import Conflict, InvalidInput, NotFound
from champion.registry.entities import check_name

__all__ = ["PREFIX", "Token", "Tokens", "digest"]

PREFIX = "champ_"


def digest(secret: str) -> str:
    """The stored form of a secret: its hex sha256 (the secret has 256 random bits)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Token:
    name: str
    scopes: frozenset[str]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Tokens:
    """Creates, lists, revokes and checks tokens; every change is in the audit log."""

    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def create(self, name: str, scopes: Iterable[str], *, actor: str) -> tuple[Token, str]:
        """Store a new token; return it and its secret (shown once, never stored)."""
        check_name("token", name)
        chosen = frozenset(scopes)
        unknown = sorted(chosen - set(SCOPES))
        if unknown or not chosen:
            raise InvalidInput(
                f"Invalid scopes {sorted(chosen)!r} for token {name!r}: "
                f"choose one or more of {', '.join(SCOPES)}."
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        with write(self.engine) as conn:
            taken = conn.execute(sa.select(api_tokens.c.name).where(api_tokens.c.name == name))
            if taken.first() is not None:
                raise Conflict(
                    f"A token named {name!r} exists already (tokens are never reused); "
                    "pick another name."
                )
            conn.execute(
                api_tokens.insert().values(
                    name=name,
                    sha256=digest(secret),
                    scopes=sorted(chosen),
                    created_at=now,
                    created_by=actor,
                )
            )
            audit.record(
                conn,
                at=now,
                actor=actor,
                action="token.create",
                target=name,
                details={"scopes": sorted(chosen)},
            )
        return self.get(name), secret

    def revoke(self, name: str, *, actor: str, reason: str = "") -> Token:
        now = self.clock.now()
        with write(self.engine) as conn:
            token = self._get(conn, name)
            if token.active:
                conn.execute(
                    api_tokens.update()
                    .where(api_tokens.c.name == name)
                    .values(revoked_at=now, revoked_by=actor)
                )
                audit.record(
                    conn, at=now, actor=actor, action="token.revoke", target=name, reason=reason
                )
        return self.get(name)

    def get(self, name: str) -> Token:
        with read(self.engine) as conn:
            return self._get(conn, name)

    def list_tokens(self) -> list[Token]:
        with read(self.engine) as conn:
            rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.name))
            return [_token(row._mapping) for row in rows]

    def active_hashes(self) -> dict[str, Token]:
        """Every active token by the sha256 of its secret (what a server checks against)."""
        with read(self.engine) as conn:
            rows = conn.execute(sa.select(api_tokens).where(api_tokens.c.revoked_at.is_(None)))
            return {row.sha256: _token(row._mapping) for row in rows}

    def _get(self, conn: sa.Connection, name: str) -> Token:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.name == name)).first()
        if row is None:
            known = conn.execute(sa.select(api_tokens.c.name).order_by(api_tokens.c.name))
            raise NotFound(
                f"Unknown token {name!r}. Tokens: {', '.join(known.scalars()) or '(none)'}."
            )
        return _token(row._mapping)


def _token(row: sa.RowMapping) -> Token:
    return Token(
        name=row["name"],
        scopes=frozenset(row["scopes"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
    )
