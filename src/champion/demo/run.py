"""champion demo: the whole loop on real data, against a real server on loopback.

1. Train two recommenders on MovieLens and an attrition classifier on the Telco table.
2. Register them with lineage; point aliases; configure endpoints.
3. Start ``champion server`` (SQLite and a local artifact folder under the demo home).
4. Simulated users ask the recommender for 10 movies and click and buy; the feedback goes back.
5. Move ``recs@champion`` to the item-kNN version over HTTP: the server switches, no restart.
6. Score the classifier's holdout customers and send their true outcome as label feedback.
7. Summarise from the server's own numbers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.metrics import roc_auc_score

from champion import __version__
from champion.demo.attrition import write_attrition_classifier
from champion.demo.movielens import load_split
from champion.demo.rankers import write_item_knn_ranker, write_popularity_ranker
from champion.demo.users import react
from champion.errors import InvalidInput, Unavailable
from champion.services import Services
from champion.settings import Settings

__all__ = ["run_demo"]

console = Console(width=max(100, Console().width))
SEED = 7


def run_demo(home: str, data: str, users: int = 400) -> None:
    data_dir = Path(data)
    if not (data_dir / "movielens-latest-small" / "ratings.csv").is_file():
        raise InvalidInput(
            f"--data {data!r} has no movielens-latest-small/ratings.csv; "
            "run the demo from the repository root."
        )
    home_dir = Path(home).resolve()
    shutil.rmtree(home_dir, ignore_errors=True)
    started = time.perf_counter()
    code_version = f"champion {__version__}"
    models_dir = home_dir / "training"

    with console.status("Training on MovieLens and the Telco churn table..."):
        split = load_split(data_dir)
        popularity = write_popularity_ranker(split, models_dir / "recs-popularity", code_version)
        knn = write_item_knn_ranker(split, models_dir / "recs-item-knn", code_version)
        holdout = write_attrition_classifier(data_dir, models_dir / "attrition", code_version)
    console.print(f"Trained 3 models in {time.perf_counter() - started:.1f} s.")

    services = Services.open(Settings(home=home_dir))
    try:
        registry = services.registry
        registry.register(
            popularity,
            model="recs",
            actor="demo",
            aliases_to_set=("champion",),
            reason="first recommender",
        )
        registry.register(
            knn,
            model="recs",
            actor="demo",
            aliases_to_set=("challenger",),
            reason="item-kNN beats popularity offline",
        )
        registry.register(
            holdout_folder := models_dir / "attrition",
            model="attrition",
            actor="demo",
            aliases_to_set=("champion",),
            reason="first model",
        )
        services.endpoints.set("recs", "single", {"version": "recs@champion"}, actor="demo")
        services.endpoints.set(
            "attrition", "single", {"version": "attrition@champion"}, actor="demo"
        )
        _show_registry(services)
    finally:
        services.close()
    del holdout_folder

    server = _Server(home_dir)
    try:
        server.start()
        console.print(f"champion server is up at {server.url} (SQLite, artifacts in {home_dir})")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            rng = np.random.default_rng(SEED)
            test_users = sorted(split.truth)[:users]
            _recommend(client, test_users, split.truth, rng, "recs/1 (popularity)")
            response = client.put(
                "/v1/models/recs/aliases/champion",
                json={"version": 2, "reason": "try item-kNN with users"},
                headers={"X-Champion-Actor": "demo"},
            )
            response.raise_for_status()
            console.print(
                "Moved [bold]recs@champion[/bold] to recs/2 over HTTP: "
                "the running server switched without a restart."
            )
            _recommend(client, test_users, split.truth, rng, "recs/2 (item-kNN)")
            served_auc = _score_customers(client, holdout)
            time.sleep(0.5)  # prediction events are written off the response path
            _summary(client, served_auc, home_dir, time.perf_counter() - started)
    finally:
        server.stop()


def _recommend(
    client: httpx.Client,
    users: list[str],
    truth: dict[str, set[str]],
    rng: np.random.Generator,
    label: str,
) -> None:
    feedback: list[dict[str, Any]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"Users browsing {label}", total=len(users))
        for user in users:
            body = client.post("/v1/endpoints/recs/rank", json={"unit": user, "k": 10})
            body.raise_for_status()
            answer = body.json()
            shown = [str(item["item"]) for item in answer["items"]]
            for reaction in react(shown, truth[user], rng):
                feedback.append(
                    {
                        "request_id": answer["request_id"],
                        "kind": reaction.kind,
                        "item": reaction.item,
                        "value": reaction.value,
                    }
                )
            progress.advance(task)
    for start in range(0, len(feedback), 1000):
        client.post(
            "/v1/feedback/batch", json={"events": feedback[start : start + 1000]}
        ).raise_for_status()
    console.print(f"{len(users)} users browsed {label}; {len(feedback)} feedback events sent.")


def _score_customers(client: httpx.Client, holdout: Any) -> float:
    scores, labels = [], []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Scoring holdout customers", total=len(holdout.rows))
        for row, customer, churned in zip(
            holdout.rows, holdout.customer_ids, holdout.churned, strict=True
        ):
            response = client.post(
                "/v1/endpoints/attrition/predict", json={"unit": customer, "instances": [row]}
            )
            response.raise_for_status()
            answer = response.json()
            scores.append(answer["predictions"][0]["probabilities"]["1"])
            labels.append(
                {
                    "request_id": answer["request_id"],
                    "kind": "label",
                    "label": churned,
                    "event_id": f"churn-{customer}",
                }
            )
            progress.advance(task)
    for start in range(0, len(labels), 1000):
        client.post(
            "/v1/feedback/batch", json={"events": labels[start : start + 1000]}
        ).raise_for_status()
    console.print(f"Scored {len(scores)} customers; their true outcomes came back as labels.")
    return float(roc_auc_score(holdout.churned, scores))


def _show_registry(services: Services) -> None:
    table = Table("version", "aliases", "kind", "description", "offline metrics", title="Registry")
    for model in services.registry.list_models():
        for version in services.registry.list_versions(model.name):
            metrics = "\n".join(f"{k}={v}" for k, v in version.lineage.get("metrics", {}).items())
            table.add_row(
                str(version.key),
                ", ".join(version.aliases),
                version.kind,
                version.lineage.get("description", ""),
                metrics,
            )
    console.print(table)


def _summary(client: httpx.Client, served_auc: float, home: Path, elapsed: float) -> None:
    recs = client.get("/v1/endpoints/recs/stats").json()["versions"]
    table = Table(
        "version",
        "requests",
        "users",
        "shown",
        "clicks",
        "CTR",
        "buys",
        "with feedback",
        "p50 ms",
        "p99 ms",
        title="Recommender: what users did",
    )
    for row in recs:
        table.add_row(
            f"{row['model']}/{row['version']}",
            str(row["requests"]),
            str(row["units"]),
            str(row["impressions"]),
            str(row["clicks"]),
            f"{row['ctr']:.2%}",
            str(row["purchases"]),
            f"{row['feedback_coverage']:.0%}",
            f"{row['latency_p50_ms']:.2f}",
            f"{row['latency_p99_ms']:.2f}",
        )
    console.print(table)
    if len(recs) == 2 and recs[0]["ctr"]:
        lift = recs[1]["ctr"] / recs[0]["ctr"] - 1
        console.print(
            f"recs/2 shows a CTR {lift:+.0%} relative to recs/1 on the same users, "
            "one after the other. Whether that is real needs a randomised experiment "
            "with a test (canary or interleaving)."
        )
    attrition = client.get("/v1/endpoints/attrition/stats").json()["versions"]
    table = Table(
        "version",
        "requests",
        "labels joined",
        "AUC on served scores",
        "p50 ms",
        "p99 ms",
        title="Attrition classifier",
    )
    for row in attrition:
        table.add_row(
            f"{row['model']}/{row['version']}",
            str(row["requests"]),
            str(row["labels"]),
            f"{served_auc:.3f}",
            f"{row['latency_p50_ms']:.2f}",
            f"{row['latency_p99_ms']:.2f}",
        )
    console.print(table)
    health = client.get("/v1/health").json()
    console.print(
        f"Events written: {health['events']['written']}, dropped: {health['events']['dropped']}."
    )
    where = Table(show_header=False, title="Where the data lives")
    where.add_row("database", str(home / "champion.db") + "  (sqlite3, or any SQLite viewer)")
    where.add_row("artifacts", str(home / "artifacts") + "  (content-addressed by sha256)")
    where.add_row("look around", f"CHAMPION_HOME={home} champion models list")
    where.add_row("", f"CHAMPION_HOME={home} champion endpoints show recs")
    where.add_row("serve it again", f"CHAMPION_HOME={home} champion server")
    console.print(where)
    console.print(f"[bold green]Demo finished in {elapsed:.0f} s.")


class _Server:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, CHAMPION_HOME=str(self.home))
        env.pop("CHAMPION_DATABASE_URL", None)  # the demo runs on the embedded default
        log = self.home / "server.log"
        with open(log, "ab") as handle:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "champion",
                    "server",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=handle,
                stderr=handle,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"The demo server exited; see {log}:\n{log.read_text()}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise Unavailable(f"The demo server did not start within 60 s; see {log}.")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
