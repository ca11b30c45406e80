"""How many per-unit rollup rows a day of returning users makes, per segment length.

The fold pass keeps one ``rollups`` row per (unit, version, segment) a unit was active in, so
a shorter ``CHAMPION_ROLLUP_SEGMENT_SECONDS`` keeps more rows for units that come back within
a day. This counts them without a database: ``--users`` users, each with a heavy-tailed number
of requests in the day (lognormal, median ``--median``), grouped into sessions of
``--per-session`` requests within 10 minutes, each session starting at a uniform time of day.
Seeded; run from the repository root:

    .venv/bin/python benchmarks/segment_rows.py --per-session 1
    .venv/bin/python benchmarks/segment_rows.py --per-session 4
"""

from __future__ import annotations

import argparse
import json

import numpy as np

DAY = 86_400
SEGMENTS = (86_400, 3_600, 900, 300)


def rows_per_segment(
    users: int, median: float, per_session: int, seed: int
) -> tuple[int, dict[int, int]]:
    """The requests of the day, and the distinct (unit, segment) pairs per segment length."""
    rng = np.random.default_rng(seed)
    requests = np.maximum(1, np.round(rng.lognormal(np.log(median), 1.1, users))).astype(int)
    found = dict.fromkeys(SEGMENTS, 0)
    for count in requests:
        sessions = -(-count // per_session)
        starts = rng.uniform(0, DAY, sessions)
        offsets = rng.uniform(0, 600, (sessions, per_session))
        times = ((starts[:, None] + offsets).ravel()[:count]) % DAY
        for segment in SEGMENTS:
            found[segment] += len(np.unique(times // segment))
    return int(requests.sum()), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--median", type=float, default=5.0)
    parser.add_argument("--per-session", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    requests, found = rows_per_segment(args.users, args.median, args.per_session, args.seed)
    print(
        json.dumps(
            {
                "users": args.users,
                "requests": requests,
                "per_session": args.per_session,
                "rows": {str(s): n for s, n in found.items()},
                "rows_against_a_day": {str(s): round(n / found[DAY], 2) for s, n in found.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
