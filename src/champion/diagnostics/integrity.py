"""Data integrity: missing share and summary statistics per column, stored or live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from champion.events.tables import predictions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["live_inputs", "summarise"]


def summarise(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per column: rows, missing share, and mean, median and std of the numbers in it.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"tenure": [1, 2, None, 5], "plan": ["a", None, "b", "a"]})
    >>> [(c["column"], c["missing_share"], c["mean"]) for c in summarise(frame)]
    [('tenure', 0.25, 2.6666666666666665), ('plan', 0.25, None)]
    """
    import pandas as pd

    found = []
    for column in frame.columns:
        values = frame[column]
        numbers = pd.to_numeric(values, errors="coerce") if _numeric(values) else None
        row: dict[str, Any] = {
            "column": str(column),
            "rows": len(values),
            "missing_share": float(values.isna().mean()) if len(values) else None,
            "mean": None,
            "median": None,
            "std": None,
            "distinct": int(values.nunique()),
        }
        if numbers is not None and numbers.notna().any():
            present = numbers.dropna().to_numpy(dtype=np.float64)
            row.update(
                mean=float(present.mean()),
                median=float(np.median(present)),
                std=float(present.std(ddof=1)) if len(present) > 1 else None,
            )
        found.append(row)
    return found


def _numeric(values: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(values.dtype)) and not pd.api.types.is_bool_dtype(
        values.dtype
    )


def live_inputs(conn: sa.Connection, endpoint: str, limit: int = 1000) -> pd.DataFrame:
    """The inputs of the newest ``limit`` predict requests of ``endpoint``, one row each."""
    import pandas as pd

    rows = conn.execute(
        sa.select(predictions.c.inputs)
        .where((predictions.c.endpoint == endpoint) & (predictions.c.kind == "predict"))
        .order_by(predictions.c.at.desc())
        .limit(limit)
    ).scalars()
    instances = [instance for inputs in rows if isinstance(inputs, list) for instance in inputs]
    return pd.DataFrame.from_records(instances[:limit]) if instances else pd.DataFrame()
