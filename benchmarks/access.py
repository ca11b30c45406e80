"""What the access guard costs per call: the scope decision and the token lookup.

    .venv/bin/python benchmarks/access.py

Times, in-process and with ``timeit`` (best of 5 rounds), ``required_scope`` on a predict path
and ``Keyring.find`` for a valid secret among 100 active tokens (sha256 of the secret and a
dict lookup), which is all a request with a known token adds before routing.
"""

from __future__ import annotations

import tempfile
import timeit
from pathlib import Path

from champion.access import Keyring, required_scope
from champion.services import Services
from champion.settings import Settings


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        services = Services.open(Settings(home=Path(home)))
        try:
            secrets = [
                services.tokens.create(f"t{i}", ["predict"], actor="bench")[1] for i in range(100)
            ]
            keyring = Keyring(services.tokens)
            keyring.refresh()
            secret = secrets[50]
            for label, call in [
                ("required_scope(POST /v1/endpoints/recs/rank)",
                 lambda: required_scope("POST", "/v1/endpoints/recs/rank")),
                ("Keyring.find(valid secret)", lambda: keyring.find(secret)),
            ]:  # fmt: skip
                number = 200_000
                best = min(timeit.repeat(call, number=number, repeat=5)) / number
                print(f"{label:48s} {best * 1e6:6.2f} µs per call")
        finally:
            services.close()


if __name__ == "__main__":
    main()
