"""What a server checks presented tokens against: a snapshot of the active tokens' hashes."""

from __future__ import annotations

from champion.access.tokens import Token, Tokens, digest

__all__ = ["Keyring"]


class Keyring:
    """Active tokens by hash, reloaded by ``refresh`` (the server calls it as it polls state).

    A secret missing from the snapshot is looked up in the database before it is refused, so
    a token works the moment it is created; a revocation takes effect at the next refresh.
    """

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self._active: dict[str, Token] = {}

    def refresh(self) -> None:
        self._active = self.tokens.active_hashes()

    @property
    def empty(self) -> bool:
        """No active token exists (as of the last refresh)."""
        return not self._active

    def find(self, secret: str) -> Token | None:
        """The token in the snapshot whose secret this is (no I/O), or None."""
        # Looked up by hash: what a guess's timing could reveal is how much of its sha256 matched
        # a stored one, which tells nothing about the secret.
        return self._active.get(digest(secret))

    def authenticate(self, secret: str) -> Token | None:
        """Like ``find``, reloading the snapshot from the database on a miss."""
        token = self.find(secret)
        if token is None:
            self.refresh()
            token = self.find(secret)
        return token
