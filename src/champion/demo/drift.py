"""The drift part of the demo: new kinds of customers arrive and an alert goes out.

1. An alert rule on the attrition endpoint: page when more than 20 % of the reference's
   columns (inputs and the model's outputs) drift over the last hour. It goes to the log and
   to a webhook receiver that the demo runs on loopback, standing in for a chat channel.
2. The holdout customers just scored look like the training data: nothing drifts.
3. A campaign brings newcomers: short tenure, monthly contracts, higher prices, fibre,
   electronic checks. They are scored through the endpoint like everyone else.
4. The server evaluates its rules every second: the alert fires and reaches the receiver.
5. ``champion drift report`` writes the HTML report; its path goes in the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from champion.demo.attrition import Holdout
from champion.demo.receiver import WebhookReceiver
from champion.drift.report import write_report
from champion.services import Services
from champion.settings import Settings

__all__ = ["ALERT_INTERVAL_SECONDS", "NEWCOMERS", "newcomers", "run_drift_story"]

NEWCOMERS = 700
ALERT_INTERVAL_SECONDS = 1.0
"""How often the demo's server evaluates alert rules (the default is a minute)."""


def newcomers(holdout: Holdout, n: int, seed: int) -> list[dict[str, Any]]:
    """Customers won by a price campaign: holdout rows changed where newcomers differ."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in rng.choice(len(holdout.rows), size=n, replace=True):
        row = dict(holdout.rows[int(index)])
        tenure = int(rng.integers(0, 7))
        monthly = round(float(row["MonthlyCharges"]) * 1.3, 2)
        row.update(
            tenure=tenure,
            Contract="Month-to-month",
            MonthlyCharges=monthly,
            TotalCharges=None if tenure == 0 else round(tenure * monthly, 2),
            InternetService="Fiber optic" if rng.random() < 0.8 else row["InternetService"],
            PaymentMethod="Electronic check",
        )
        rows.append(row)
    return rows


def run_drift_story(client: httpx.Client, home: Path, holdout: Holdout, console: Console) -> Path:
    """Run steps 1-5 against the demo's server; return the report's path."""
    with WebhookReceiver() as receiver:
        rule = {
            "endpoint": "attrition",
            "metric": "drift_share",
            "threshold": 0.2,
            "window": "1h",
            "severity": "warning",
            "cooldown": "1h",
            "sinks": [{"type": "log"}, {"type": "webhook", "url": receiver.url}],
            "description": "the customers we score no longer look like those we trained on",
            "reason": "watch the attrition model's inputs and outputs",
        }
        client.put("/v1/alerts/rules/attrition-drift", json=rule).raise_for_status()
        console.print(
            "Alert rule [bold]attrition-drift[/bold]: more than 20 % of columns drifting over "
            f"the last hour goes to the log and to a webhook receiver at {receiver.url}."
        )
        quiet = client.get("/v1/endpoints/attrition/drift", params={"window": "1h"})
        quiet.raise_for_status()
        body = quiet.json()
        console.print(
            f"The {body['rows']} holdout customers against {body['version']}'s reference "
            f"({body['reference']['rows']} training rows, profiled at registration): "
            f"{len(body['drifted_columns'])} of {len(body['columns'])} columns drifted."
        )
        rows = newcomers(holdout, NEWCOMERS, seed=11)
        for start in range(0, len(rows), 50):
            client.post(
                "/v1/endpoints/attrition/predict",
                json={"unit": f"newcomer-{start}", "instances": rows[start : start + 50]},
            ).raise_for_status()
        console.print(
            f"A price campaign brought {NEWCOMERS} newcomers (short tenure, monthly contracts, "
            "fibre, electronic checks); they were scored through the endpoint."
        )
        if not receiver.wait(1, timeout=30):
            raise RuntimeError("The drift alert did not reach the webhook receiver in 30 s.")
        text = escape(receiver.received[0]["text"])
        console.print(f"[bold red]Webhook received:[/bold red] {text}")
    drifted = client.get("/v1/endpoints/attrition/drift", params={"window": "1h"}).json()
    _show(drifted, console)
    services = Services.open(Settings(home=home))
    try:
        run = services.drift.endpoint_drift("attrition", window="1h")
    finally:
        services.close()
    return write_report(run, home / "reports" / "attrition-drift.html")


def _show(body: dict[str, Any], console: Console) -> None:
    table = Table(
        "column", "test", "statistic", "threshold", "verdict",
        title=f"Attrition drift, last hour: {body['share_drifted']:.0%} of columns drifted",
    )  # fmt: skip
    for column in body["columns"][:8]:
        table.add_row(
            column["column"], column["method"], f"{column['statistic']:.3f}",
            f"{column['threshold']:g}", column["verdict"],
        )  # fmt: skip
    console.print(table)
