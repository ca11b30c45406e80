"""champion demo: the whole loop on real data, against a real server on loopback.

1. Train two recommenders on MovieLens and two attrition classifiers on the Telco table (and
   the second act's retrieval ranker and two re-rankers).
2. Register them with lineage and aliases; configure endpoints.
3. Start ``champion server`` (SQLite and a local artifact folder under the demo home).
4. Simulated users browse ``recs`` served by recs/1; clicks and purchases come back.
5. An interleaving experiment merges recs/1's and recs/2's lists for every user; each click
   credits the model that placed the item. The server's rollout controller tests it (a t-test
   over users, once every planned user has visited) and promotes the ranker users prefer:
   ``recs@champion`` moves, without a restart (demo/rollout.py).
6. A broken build of the recommender goes out as a canary; its calls fail (users get the
   champion's lists) and the controller rolls it back at once.
7. The attrition champion scores holdout customers while the challenger runs in shadow; the
   customers' true outcomes come back as labels, scoring both.
8. Newcomers arrive, the attrition inputs drift, an alert reaches a webhook (``demo.drift``).
9. The customers' files land in a folder; the server notices them, and a pipeline ingests
   them (quarantining corrupt rows), retrains, gates the candidate against the champion with
   a paired test, registers it and deploys it as a canary (``champion.demo.pipeline``).
10. The week's customers are scored in waves and their outcomes come back; the controller
    ramps the canary and promotes or rolls it back on the labels (``champion.demo.canary``).
    ``champion audit`` and ``champion diagnose`` show the record, as a user would type them.
11. The second act: a two-stage recommender served as a pipeline endpoint, a new re-ranker
    interleaved on its last stage only (``champion.demo.second_act``).
12. Summarise from the server's own records.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

from champion import __version__
from champion.db import read
from champion.demo import canary, rollout
from champion.demo.attrition import Holdout, write_attrition_classifier
from champion.demo.browsing import browse
from champion.demo.compiled import Served, can_compile, compile_attrition
from champion.demo.drift import ALERT_INTERVAL_SECONDS, run_drift_story
from champion.demo.movielens import load_split
from champion.demo.pipeline import pipeline_spec, show_retraining, split_telco
from champion.demo.rankers import fit_item_knn, write_item_knn_ranker, write_popularity_ranker
from champion.demo.scoring import Customer, score_and_label
from champion.demo.second_act import (
    SecondAct,
    register_second_act,
    run_second_act,
    stage_tables,
    train_second_act,
)
from champion.errors import InvalidInput
from champion.evaluation.stattests import format_p_value
from champion.events.logged_rows import feedback_for, shadow_pairs
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings

__all__ = ["run_demo"]

console = Console(width=max(100, Console().width))
SEED = 7
SESSIONS = 6
"""Visits per user during the experiment. Each user counts once in the test, so visits
sharpen each user's preference but add no users. Replaying the experiment with fresh clicks
and team-draft coins (benchmarks/demo_interleaving.py), the t-test over the 520 users
promoted item-kNN in all of 600 replays (about 99.9 % by the spread of its t statistic):
users shown nothing they like click nothing (demo/users.py), so the users who express a
preference are the ones who can tell the rankers apart. With stray clicks it was 88 and 96
replays of 100 at 6 and 24 visits."""
HEADERS = {"X-Champion-Actor": "demo", "X-Champion-Request": "1"}


def run_demo(home: str, data: str, users: int = 200) -> None:
    """Run the demo in ``home`` (recreated) on the datasets in ``data``.

    ``users`` browse before and after the experiment; every test user takes part in it.
    """
    data_dir = Path(data)
    if not (data_dir / "movielens-latest-small" / "ratings.csv").is_file():
        raise InvalidInput(
            f"--data {data!r} has no movielens-latest-small/ratings.csv; "
            "run the demo from the repository root."
        )
    home_dir = Path(home).resolve()
    shutil.rmtree(home_dir, ignore_errors=True)
    started = time.perf_counter()
    holdout, served = _train_and_register(data_dir, home_dir)
    split = load_split(data_dir)
    rng = np.random.default_rng(SEED)
    everyone = sorted(split.truth)
    some = everyone[:users]

    server = ServerProcess(
        home_dir,
        env={**rollout.SERVER_ENV, "CHAMPION_ALERT_INTERVAL_SECONDS": f"{ALERT_INTERVAL_SECONDS}"},
    )
    try:
        server.start()
        console.print(f"champion server is up at {server.url} (SQLite, artifacts in {home_dir})")
        with httpx.Client(base_url=server.url, timeout=30, headers=HEADERS) as client:
            _recommend(client, some, split.truth, rng, "recs/1 alone")
            _configure(
                client,
                "recs",
                "interleave",
                "compare the recommenders with users",
                champion="recs@champion",
                challenger="recs@challenger",
                method="team_draft",
            )
            rollout.start_interleaving_experiment(client, console, len(everyone))
            _recommend(
                client,
                everyone * SESSIONS,
                split.truth,
                rng,
                "an interleaving of recs/1 and recs/2",
            )
            rollout.await_events_written(client)
            _interleaving_result(client)
            rollout.let_the_controller_decide(client, console, len(everyone))
            decided = rollout.await_decision(client, "recs")
            winner = "recs/2" if decided["status"] == "promoted" else "recs/1"
            console.print(
                f"The controller: {decided['decision']['reason']} recs@champion is {winner}, "
                + (
                    "changed over HTTP: the running server switched without a restart."
                    if winner == "recs/2"
                    else "as before: without a significant win the champion stays."
                )
            )
            verdict = rollout.verdict_line(decided)
            console.print(verdict)
            rollout.release_broken_canary(client, home_dir, console, winner)
            _recommend(client, everyone, split.truth, rng, f"{winner} with a canary of recs/3")
            broken = rollout.await_decision(client, "recs")
            console.print(f"The controller: {broken['decision']['reason']}")
            champion, challenger = served["champion"].number, served["challenger"].number
            _score_customers(client, holdout, champion, challenger)
            rollout.await_events_written(client)
            _shadow_summary(client, home_dir, champion, challenger)
            report = run_drift_story(client, home_dir, holdout, console)
            if _retrain(client, data_dir, home_dir)["status"] == "succeeded":
                canary.follow_the_canary(client, console, holdout)
                console.print(rollout.decisions_table(home_dir, "attrition"))
            canary.show_the_record(console, home_dir)
            second = run_second_act(client, console, some, everyone, split.truth, rng)
            _summary(client, home_dir, time.perf_counter() - started, report, verdict, second)
    finally:
        server.stop()


def _train_and_register(data_dir: Path, home: Path) -> tuple[Holdout, dict[str, Served]]:
    code_version = f"champion {__version__}"
    models = home / "training"
    started = time.perf_counter()
    with console.status("Training on MovieLens and the Telco churn table..."):
        split = load_split(data_dir)
        popularity = write_popularity_ranker(split, models / "recs-popularity", code_version)
        fit = fit_item_knn(split.train)  # the recommender's, and the second act's retrieval
        knn = write_item_knn_ranker(split, models / "recs-item-knn", code_version, fit)
        stages = train_second_act(split, fit, models, code_version)
        holdout = write_attrition_classifier(data_dir, models / "attrition-logistic", code_version)
        write_attrition_classifier(
            data_dir, models / "attrition-boosting", code_version, estimator="boosting"
        )
    console.print(f"Trained 7 models in {time.perf_counter() - started:.1f} s.")
    services = Services.open(Settings(home=home))
    try:
        register = services.registry.register
        register(
            popularity,
            model="recs",
            actor="demo",
            aliases_to_set=("champion",),
            reason="first recommender",
        )
        register(
            knn,
            model="recs",
            actor="demo",
            aliases_to_set=("challenger",),
            reason="item-kNN beats popularity offline",
        )
        register(
            models / "attrition-logistic",
            model="attrition",
            actor="demo",
            aliases_to_set=("champion",),
            reason="first model",
        )
        register(
            models / "attrition-boosting",
            model="attrition",
            actor="demo",
            aliases_to_set=("challenger",),
            reason="try boosting in shadow",
        )
        register_second_act(services, stages)
        services.endpoints.set("recs", "single", {"version": "recs@champion"}, actor="demo")
        services.endpoints.set(
            "attrition",
            "shadow",
            {"champion": "attrition@champion", "challenger": "attrition@challenger"},
            actor="demo",
            reason="watch the challenger on live traffic",
        )
        served = compile_attrition(services, holdout, console, ("champion", "challenger"))
        _show_registry(services)
    finally:
        services.close()
    return holdout, served


def _configure(
    client: httpx.Client, endpoint: str, policy: str, reason: str, **params: Any
) -> None:
    client.put(
        f"/v1/endpoints/{endpoint}", json={"policy": policy, "params": params, "reason": reason}
    ).raise_for_status()
    console.print(f"Endpoint [bold]{endpoint}[/bold] now uses [bold]{policy}[/bold] ({reason}).")


def _recommend(
    client: httpx.Client,
    users: list[str],
    truth: dict[str, set[str]],
    rng: np.random.Generator,
    label: str,
) -> None:
    browse(client, console, "recs", users, truth, rng, label)


def _interleaving_result(client: httpx.Client) -> None:
    response = client.get("/v1/endpoints/recs/interleaving", params={"test": "t"})
    response.raise_for_status()
    result = response.json()["comparisons"][0]
    table = Table(
        "users",
        "prefer recs/2",
        "prefer recs/1",
        "tied",
        "mean preference (95 % CI)",
        "t-test p",
        "impressions won / lost / tied",
        title="Interleaving experiment (team-draft), per user",
    )
    low, high = result["ci"]
    table.add_row(
        str(result["units"]),
        str(result["units_preferring_challenger"]),
        str(result["units_preferring_champion"]),
        str(result["units_tied"]),
        f"{result['preference']:+.3f} ({low:+.3f}, {high:+.3f})",
        format_p_value(result["p_value"]),
        f"{result['wins']} / {result['losses']} / {result['ties']}",
    )
    console.print(table)
    console.print(
        "Each user counts once: their won and lost impressions give one preference in "
        "[-1, 1], and the test runs over users, whose visits are not independent."
    )


def _score_customers(
    client: httpx.Client, holdout: Holdout, champion: int, challenger: int
) -> None:
    customers = [
        Customer(customer, row, churned, event_id=f"churn-{customer}")
        for row, customer, churned in zip(
            holdout.rows, holdout.customer_ids, holdout.churned, strict=True
        )
    ]
    scored = score_and_label(
        client, console, customers, title="Scoring holdout customers", labels_every=1000
    )
    console.print(
        f"Scored {scored} customers with attrition/{champion} while attrition/{challenger} ran in "
        "shadow; their true outcomes came back as labels."
    )


def _retrain(client: httpx.Client, data_dir: Path, home: Path) -> dict[str, Any]:
    files = split_telco(data_dir, home / "attrition-data")
    spec = pipeline_spec(files.incoming, compile=can_compile())
    (home / "attrition-retrain.yaml").write_text(yaml.safe_dump(spec.to_json(), sort_keys=False))
    client.put(
        f"/v1/pipelines/{spec.name}", json={"spec": spec.to_json(), "reason": "retrain on new data"}
    ).raise_for_status()
    console.print(
        f"Pipeline [bold]{spec.name}[/bold] watches {files.incoming} (see "
        f"{home / 'attrition-retrain.yaml'}); the customers' files land there now."
    )
    return show_retraining(console, client, files)


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


def _summary(
    client: httpx.Client,
    home: Path,
    elapsed: float,
    report: Path,
    verdict: str,
    second: SecondAct,
) -> None:
    recs = client.get("/v1/endpoints/recs/stats").json()["versions"]
    table = Table(
        "version",
        "arm",
        "requests",
        "users",
        "shown",
        "clicks",
        "CTR",
        "buys",
        "p50 ms",
        "p99 ms",
        title="Recommender: what users did",
    )
    for row in recs:
        latency = [
            f"{row[k]:.2f}" if row[k] is not None else "-"
            for k in ("latency_p50_ms", "latency_p99_ms")
        ]
        table.add_row(
            f"{row['model']}/{row['version']}",
            row["arm"],
            str(row["requests"]) if row["requests"] else "(credited)",
            str(row["units"] or "-"),
            str(row["impressions"]),
            str(row["clicked_impressions"]),
            f"{row['ctr']:.2%}" if row["ctr"] is not None else "-",
            str(row["purchases"]),
            *latency,
        )
    console.print(table)
    console.print(
        "Under interleaving every request shows items of both versions: shown, clicked and "
        "bought items are counted for the version each item is credited to."
    )
    console.print(verdict)
    console.print(rollout.decisions_table(home, "recs"))
    stages, moved = stage_tables(client, second)
    console.print(stages)
    console.print(second.verdict)
    console.print(moved)
    health = client.get("/v1/health").json()
    console.print(
        f"Events written: {health['events']['written']}, dropped: {health['events']['dropped']}."
    )
    where = Table(show_header=False, title="Where the data lives")
    where.add_row("database", str(home / "champion.db") + "  (sqlite3, or any SQLite viewer)")
    where.add_row("artifacts", str(home / "artifacts") + "  (content-addressed by sha256)")
    where.add_row("drift report", f"{report}  (open it in a browser)")
    cli = _command()
    where.add_row("look around", f"CHAMPION_HOME={home} {cli} models list")
    where.add_row("", f"CHAMPION_HOME={home} {cli} endpoints show recs")
    where.add_row("", f"CHAMPION_HOME={home} {cli} endpoints stages recs-pipeline")
    where.add_row("", f"CHAMPION_HOME={home} {cli} pipeline show attrition-retrain 1")
    where.add_row("", f"CHAMPION_HOME={home} {cli} diagnose")
    where.add_row("serve it again", f"CHAMPION_HOME={home} {cli} server")
    console.print(where)
    console.print(f"Drift report: {report}")
    console.print(f"[bold green]Demo finished in {elapsed:.0f} s.")


def _command() -> str:
    """How to call the CLI from here: plain ``champion`` if it is on PATH."""
    installed = Path(sys.executable).parent / "champion"
    if shutil.which("champion") == str(installed):
        return "champion"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return str(installed)


def _shadow_summary(client: httpx.Client, home: Path, answering: int, shadowing: int) -> None:
    """``answering`` and ``shadowing``: the attrition versions serving and in shadow."""
    services = Services.open(Settings(home=home))
    try:
        with read(services.engine) as conn:
            pairs = shadow_pairs(conn, "attrition")
            labels = {
                request_id: events[0]["label"]
                for request_id, events in feedback_for(
                    conn, [pair["request_id"] for pair in pairs]
                ).items()
                if events and events[0]["kind"] == "label"
            }
    finally:
        services.close()
    usable = [p for p in pairs if p["shadow_error"] is None and p["request_id"] in labels]
    truth = [labels[p["request_id"]] for p in usable]
    champion = [p["outputs"][0]["probabilities"]["1"] for p in usable]
    shadow = [p["shadow_outputs"][0]["probabilities"]["1"] for p in usable]
    agree = np.mean([(a >= 0.5) == (b >= 0.5) for a, b in zip(champion, shadow, strict=True)])
    stats_rows = {
        r["version"]: r for r in client.get("/v1/endpoints/attrition/stats").json()["versions"]
    }
    table = Table(
        "version",
        "role",
        "scored",
        "labels joined",
        "AUC on labels",
        "p50 ms",
        title="Attrition: champion serving, challenger in shadow",
    )
    served = stats_rows.get(answering, {})
    table.add_row(
        f"attrition/{answering}",
        "answers",
        str(served.get("requests", 0)),
        str(served.get("labels", 0)),
        f"{roc_auc_score(truth, champion):.3f}",
        f"{served.get('latency_p50_ms') or 0:.2f}",
    )
    shadow_latency = float(np.median([p["shadow_latency_ms"] for p in pairs]))
    table.add_row(
        f"attrition/{shadowing}",
        "shadow",
        str(len(pairs)),
        str(len(usable)),
        f"{roc_auc_score(truth, shadow):.3f}",
        f"{shadow_latency:.2f}",
    )
    console.print(table)
    errors = sum(p["shadow_error"] is not None for p in pairs)
    skipped = served.get("requests", 0) - len(pairs)
    console.print(
        f"The two versions agree on {agree:.1%} of customers (risk above or below "
        f"50 %); the shadow failed {errors} times and never touched a response. It skipped "
        f"{skipped} requests that came while its earlier calls still ran: a shadow that "
        "cannot keep up is sampled, never queued."
    )
