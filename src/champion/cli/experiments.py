"""champion experiment list|show|set|plan|approve|promote|rollback."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer
from rich.table import Table

from champion.cli.common import actor, console, open_services
from champion.cli.render import print_table
from champion.errors import InvalidInput

# Evaluation (SciPy) is imported by the commands that use it, when they run.

__all__ = ["experiment_app"]

experiment_app = typer.Typer(
    help="Experiments: is the challenger better, and when do we switch?", no_args_is_help=True
)


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _interval(ci: list[float] | None) -> str:
    return "-" if not ci else f"{ci[0]:+.3g} to {ci[1]:+.3g}"


def _render(report: dict[str, Any]) -> None:
    from champion.evaluation.stattests import format_p_value

    design = report["design"]
    share = f", share {report['share']:.0%}" if report.get("share") is not None else ""
    versions = ", ".join(f"{arm} {v}" for arm, v in (report.get("versions") or {}).items())
    stage = f" on stage {report['stage']}" if report.get("stage") else ""
    console.print(
        f"[bold]{report['endpoint']}[/bold]: experiment {report['id']} {report['status']}{stage} "
        f"({report['policy']}{share}; {versions}); goal {design['goal']}, method "
        f"{design['method']}, alpha {design['alpha']}, automation {design['automation']}"
    )
    used = list(dict.fromkeys(r["metric"] for r in report["results"]))
    regime = report.get("regime")
    title = "Arms"
    if regime is not None and len(report.get("steps") or []) > 1:
        title = f"Arms in step {regime['step']} (earlier steps are not pooled)"
    arms = Table(
        "arm", "version", "units", "requests", "failed", *used, "p50 / p99 ms", title=title
    )
    for arm in report["arms"]:
        latency = arm.get("latency_ms") or {}
        values = arm["metrics"]
        if report["policy"] == "interleave" and report.get("interleaving"):
            values = {"interleaving": report["interleaving"]["preference"]}
        arms.add_row(
            arm["arm"],
            arm["version"],
            str(arm["units"]),
            str(arm["requests"]),
            str(arm["failures"]),
            *(_number(values.get(name)) for name in used),
            f"{_number(latency.get('p50'), 3)} / {_number(latency.get('p99'), 3)}",
        )
    console.print(arms)
    _render_steps(report)
    level = round(100 * (1 - design["alpha"]))
    results = Table(
        "metric",
        "role",
        "champion",
        "challenger",
        "change",
        f"{level}% CI",
        "p",
        "verdict",
        title="Tests",
    )
    for r in report["results"]:
        p = format_p_value(r["p_value"])
        if r["p_adjusted"] is not None:
            p += f" (adj. {format_p_value(r['p_adjusted'])})"
        role = r["role"] if len(report["arms"]) <= 2 else f"{r['role']} ({r['arm']})"
        results.add_row(
            r["metric"],
            role,
            _number(r["control"]),
            _number(r["challenger"]),
            "-" if r["effect"] is None else f"{r['effect']:+.4g}",
            _interval(r["ci"]),
            p,
            r["verdict"],
        )
    console.print(results)
    if report.get("interleaving"):
        _render_interleaving(report["interleaving"], level)
    for check in report.get("health", []):
        colour = {"ok": "green", "alert": "red"}.get(check["status"], "yellow")
        console.print(f"[{colour}]{check['name']}: {check['status']}[/{colour}] {check['detail']}")
    decision = report["decision"]
    console.print(
        f"[bold]Decision: {decision['decision']}[/bold] (action: {decision['action']}). "
        f"{decision['reason']}"
    )
    if report.get("pending"):
        console.print(
            f"[yellow]Waiting for approval:[/yellow] {report['pending']['action']} — "
            f"champion experiment approve {report['endpoint']}"
        )


def _render_interleaving(found: dict[str, Any], level: int) -> None:
    from champion.evaluation.stattests import format_p_value

    table = Table(
        "units",
        "with a preference",
        f"prefer {found['challenger']}",
        f"prefer {found['champion']}",
        "mean preference",
        f"{level}% CI",
        "p",
        "test",
        "impressions won / lost / tied",
        title="Interleaving, per unit (each unit counts once)",
    )
    table.add_row(
        str(found["units"]),
        str(found["units_tested"]),
        str(found["units_preferring_challenger"]),
        str(found["units_preferring_champion"]),
        f"{found['preference']:+.3f}",
        _interval(found["ci"]),
        format_p_value(found["p_value"]),
        found["method"],
        f"{found['wins']} / {found['losses']} / {found['ties']}",
    )
    console.print(table)


def _render_steps(report: dict[str, Any]) -> None:
    """The ramp steps, each with its units per arm and its own sample-ratio check."""
    from champion.evaluation.stattests import format_p_value

    steps = report.get("steps") or []
    if not steps or steps[0]["expected_shares"] is None:
        return
    arms = list(steps[-1]["units"])
    table = Table("step", "share", "configurations", "started (UTC)", *arms, "SRM", title="Steps")
    for step in steps:
        share = "-" if step["share"] is None else f"{step['share']:.0%}"
        first, last = step["config_versions"]
        srm = step["srm"]
        p = srm["numbers"].get("p_value")
        table.add_row(
            str(step["step"]) + (" (last before 100 %)" if step["last_before_full"] else ""),
            share,
            str(first) if first == last else f"{first}-{last}",
            step["started_at"][:19].replace("T", " "),
            *(str(step["units"].get(arm, 0)) for arm in arms),
            srm["status"] + ("" if p is None else f" (p {format_p_value(p, equals=True)})"),
        )
    console.print(table)


def _show(endpoint: str) -> None:
    with open_services() as services:
        experiment = services.experiments.get(endpoint)
        report = services.experiments.report(experiment).to_json()
    _render(report)


@experiment_app.command("list")
def list_experiments(
    running: Annotated[
        bool, typer.Option("--running", help="Only the experiments still running.")
    ] = False,
) -> None:
    """Each endpoint's current (or last) experiment: status, goal, method, last decision."""
    with open_services() as services:
        found = services.experiments.running() if running else services.experiments.latest()
    table = Table("endpoint", "id", "status", "goal", "method", "automation", "started", "decided")
    for e in found:
        last = e.last_decision or {}
        decided = last.get("decision") or "-"
        if last.get("action") and last.get("action") != decided:
            decided += f" ({last['action']})"
        table.add_row(
            e.endpoint, str(e.id), e.status.replace("_", " "), e.design.goal, e.design.method,
            e.design.automation, f"{e.started_at:%Y-%m-%d %H:%M} by {e.created_by}", decided,
        )  # fmt: skip
    empty = "No experiment is running." if running else "No experiments yet."
    print_table(table, f"{empty} Start one with 'champion experiment set ENDPOINT --goal METRIC'.")


@experiment_app.command("show")
def show(endpoint: str) -> None:
    """Per-arm numbers, tests with intervals, health checks and the decision."""
    _show(endpoint)


def _guardrail(text: str) -> dict[str, Any]:
    name, sep, tolerance = text.partition("=")
    relative = tolerance.endswith("%")
    try:
        value = float(tolerance.removesuffix("%"))
    except ValueError:
        value = -1.0
    if not sep or not name or value < 0:
        raise InvalidInput(
            f"--guardrail {text!r}: write metric=tolerance, e.g. error_rate=0.01 (absolute) or "
            "latency_ms=25% (relative to the champion)."
        )
    return {"metric": name, "tolerance": value / 100 if relative else value, "relative": relative}


def _steps(text: str) -> list[float]:
    try:
        return [
            float(part.strip().removesuffix("%")) / (100 if "%" in part else 1)
            for part in text.split(",")
        ]
    except ValueError:
        raise InvalidInput(
            f"--ramp {text!r}: write the canary shares separated by commas, e.g. "
            "1%,5%,10%,25%,50%,100% or 0.01,0.05,0.1."
        ) from None


@experiment_app.command("set")
def set_experiment(
    endpoint: str,
    goal: Annotated[str, typer.Option(help="Goal metric: ctr, click_rate, conversion, ...")],
    guardrail: Annotated[
        list[str] | None,
        typer.Option(help="metric=tolerance (error_rate=0.01, latency_ms=25%); repeatable."),
    ] = None,
    no_guardrails: Annotated[
        bool, typer.Option("--no-guardrails", help="No guardrails at all.")
    ] = False,
    min_sample: Annotated[int | None, typer.Option(help="Units per arm before a verdict.")] = None,
    alpha: Annotated[float | None, typer.Option(help="Significance level.")] = None,
    method: Annotated[
        str | None, typer.Option(help="sequential, delta, welch, bayesian, interleaving.")
    ] = None,
    interleaving_test: Annotated[
        str | None, typer.Option(help="With method interleaving: t, sign or bootstrap over units.")
    ] = None,
    automation: Annotated[str | None, typer.Option(help="manual, approve or auto.")] = None,
    ramp: Annotated[str | None, typer.Option(help="Canary steps, e.g. 1%,5%,25%,100%.")] = None,
    step_minutes: Annotated[float | None, typer.Option(help="Minimum minutes per step.")] = None,
    step_units: Annotated[int | None, typer.Option(help="Challenger units per step.")] = None,
    require_win: Annotated[
        bool, typer.Option(help="Promote only on a significant win (else also after the ramp).")
    ] = True,
    chance_to_win: Annotated[
        float | None, typer.Option(help="bayesian: the chance to win that decides (0.95).")
    ] = None,
    cuped_days: Annotated[
        float | None,
        typer.Option(help="CUPED: adjust the goal by each unit's history over these days."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Start an experiment on ENDPOINT's current comparison (or change the running one)."""
    design: dict[str, Any] = {"goal": goal, "require_win": require_win}
    if guardrail or no_guardrails:
        design["guardrails"] = [_guardrail(item) for item in guardrail or []]
    for key, value in (
        ("min_sample", min_sample),
        ("alpha", alpha),
        ("method", method),
        ("automation", automation),
        ("interleaving_test", interleaving_test),
        ("chance_to_win", chance_to_win),
        ("cuped_days", cuped_days),
    ):
        if value is not None:
            design[key] = value
    if cuped_days is not None:
        design["cuped"] = True
    steps: dict[str, Any] = {}
    if ramp is not None:
        steps["steps"] = _steps(ramp)
    if step_minutes is not None:
        steps["min_seconds"] = step_minutes * 60
    if step_units is not None:
        steps["min_units"] = step_units
    if steps:
        design["ramp"] = steps
    with open_services() as services:
        services.experiments.set(endpoint, design, actor=actor(), reason=reason)
    _show(endpoint)


@experiment_app.command("approve")
def approve(
    endpoint: str, reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = ""
) -> None:
    """Carry out the action the controller proposed (automation approve)."""
    with open_services() as services:
        services.rollout.approve(endpoint, actor=actor(), reason=reason)
    _show(endpoint)


@experiment_app.command("promote")
def promote(
    endpoint: str,
    arm: Annotated[str | None, typer.Option(help="Which challenger arm (ab).")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "promoted by hand",
) -> None:
    """Promote the challenger now: champion moves, the previous one stays loaded."""
    with open_services() as services:
        experiment = services.experiments.get(endpoint)
        services.rollout.promote(experiment, actor=actor(), reason=reason, arm=arm)
    _show(endpoint)


@experiment_app.command("rollback")
def rollback(
    endpoint: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "rolled back by hand",
) -> None:
    """Send every unit back to the champion (after a promotion: switch back at once)."""
    with open_services() as services:
        experiment = services.experiments.get(endpoint)
        services.rollout.rollback(experiment, actor=actor(), reason=reason)
    _show(endpoint)


def _mde(text: str) -> tuple[float, bool]:
    relative = text.endswith("%")
    try:
        value = float(text.removesuffix("%"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(
            f"--mde {text!r}: write the smallest change worth finding, e.g. 0.01 (absolute) "
            "or 5% (relative to the baseline)."
        )
    return (value / 100 if relative else value), relative


def _render_plan(found: dict[str, Any]) -> None:
    history = found["history"]
    baseline = "" if found["baseline"] is None else f" (baseline {_number(found['baseline'])})"
    console.print(
        f"[bold]{found['endpoint']}[/bold]: plan for goal {found['goal']}{baseline}, method "
        f"{found['method']}, change {_number(found['mde'])}, {found['challengers']} "
        f"challenger(s); history: {history['units']} units over {history['days']:g} days "
        f"({history['units_per_day']:.4g} a day)"
    )
    table = Table("test", "units per arm", "power", title="Sample")
    table.add_row("goal", _number(found["goal_units_per_arm"]), "-")
    if found["fixed_horizon_units_per_arm"] is not None and found["method"] == "sequential":
        table.add_row("goal (fixed-horizon)", _number(found["fixed_horizon_units_per_arm"]), "-")
    for g in found["guardrails"]:
        table.add_row(
            f"{g['metric']} within {_number(g['tolerance'])}",
            _number(g["units_per_arm"]),
            _number(g["power"], 3),
        )
    console.print(table)
    days = "-" if found["days"] is None else f"{found['days']:.3g}"
    console.print(
        f"[bold]Needed: {_number(found['units_per_arm'])} units per arm, "
        f"{_number(found['total_units'])} in all, about {days} days.[/bold]"
    )
    interleaving = found.get("interleaving")
    if interleaving:
        units = interleaving["units"]
        console.print(
            f"Interleaving: {_number(units)} units to find a preference of "
            f"{interleaving['preference']:g}. {interleaving['note']}"
        )
    for note in found["notes"]:
        console.print(note)


@experiment_app.command("plan")
def plan_experiment(
    endpoint: str,
    goal: Annotated[str, typer.Option(help="Goal metric: ctr, click_rate, conversion, ...")],
    mde: Annotated[
        str, typer.Option(help="Smallest change worth finding: 0.01 (absolute) or 5% (relative).")
    ],
    method: Annotated[
        str | None, typer.Option(help="sequential, delta, welch, bayesian, interleaving.")
    ] = None,
    history_days: Annotated[float, typer.Option(help="Days of history to estimate from.")] = 14.0,
    preference: Annotated[float, typer.Option(help="Interleaving: the Δ_AB to find.")] = 0.05,
) -> None:
    """Units (and days) an experiment on ENDPOINT needs, from its own history."""
    from champion.evaluation.planning import plan

    value, relative = _mde(mde)
    with open_services() as services:
        found = plan(
            services.experiments,
            endpoint,
            goal=goal,
            mde=value,
            relative=relative,
            method=method,
            history_days=history_days,
            preference=preference,
        )
    _render_plan(found.to_json())
