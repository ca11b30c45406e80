"""Serving benchmark: champion vs bare FastAPI endpoints vs `mlflow models serve`.

The same fitted model (a 20-feature LogisticRegression, one row per request), the same load
generator (wrk, one thread) on loopback, one server process each (champion also with two
workers), at 1 and 32 connections. Champion runs as shipped, with its prediction event log on
(SQLite). Run from the repository root with champion's venv:

    .venv/bin/python benchmarks/run.py [--duration 10] [--repeat 1]
        [--only champion,champion_workers2,bare_async,bare,mlflow]

It writes benchmarks/results/latest.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent
BUILD = HERE / "build"
PEERS = HERE / ".venv"
PEERS_BIN = PEERS / "bin"
CHAMPION = Path(sys.executable).parent / "champion"
SERVERS = ("champion", "champion_workers2", "bare_async", "bare", "mlflow")
BASELINE = "bare_async"
"""The peer every ratio is taken against first: the fastest idiomatic FastAPI endpoint."""
PEER_SERVERS = ("bare_async", "bare", "mlflow")
CONNECTIONS = (1, 32)
WARMUP_SECONDS = 2
CHAMPION_PACKAGES = (
    "champion", "fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "httptools",
    "scikit-learn", "numpy", "scipy", "skops", "sqlalchemy", "orjson",
)  # fmt: skip
PEER_PACKAGES = (
    "mlflow-skinny", "fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "httptools",
    "scikit-learn", "numpy", "pandas", "skops",
)  # fmt: skip


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    body: Path
    log: Path
    base: str


# -- setup -----------------------------------------------------------------------------------


PEERS_COMMAND = (
    "python3 -m venv benchmarks/.venv && "
    "benchmarks/.venv/bin/pip install -r benchmarks/requirements-peers.txt"
)


def check_peers() -> None:
    """benchmarks/.venv must hold MLflow (never champion's venv); say how to make it if not."""
    if not (PEERS_BIN / "mlflow").exists():
        sys.exit(
            "The peers' venv benchmarks/.venv (MLflow) is missing. Create it once with:\n"
            f"  {PEERS_COMMAND}\n"
            "or leave MLflow out: --only champion,bare"
        )


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One benchmark at a time on this machine: two runs would share its cores."""
    with (Path(tempfile.gettempdir()) / "champion-benchmark.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Waiting for another benchmark run to finish ...", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def round_options(parser: argparse.ArgumentParser, out: str) -> None:
    """The options of a script that times servers in interleaved rounds (``interleaved``)."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--out", type=Path, default=HERE / "results" / out)


def interleaved(
    names: Iterable[str], rounds: int, measure: Callable[[str], dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """``measure`` each of ``names`` in turn, ``rounds`` times over (so a slow spell of the
    host hits them alike), alone on this machine; each one's wrk results, round by round."""
    names = list(names)
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with exclusive():
        for number in range(rounds):
            for name in names:
                result = measure(name)
                found[name].append(result)
                print(
                    f"round {number + 1} {name}: {result['requests_per_second']:.0f} req/s, "
                    f"p50 {result['p50_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms, "
                    f"p99 {result['p99_ms']:.2f} ms",
                    file=sys.stderr,
                )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, tmp: Path) -> Server:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    if name.startswith("champion"):
        env["CHAMPION_HOME"] = str(tmp / "champion-home")
        for args in (
            ["models", "register", str(BUILD / "champion_model"), "--model", "bench",
             "--alias", "champion"],
            ["endpoints", "set", "bench", "--version", "bench@champion"],
        ):  # fmt: skip
            done = subprocess.run([str(CHAMPION), *args], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"champion {' '.join(args)} failed:\n{done.stderr}")
        workers = "2" if name == "champion_workers2" else "1"
        command = [str(CHAMPION), "server", "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning", "--workers", workers]  # fmt: skip
        url, ready = f"{base}/v1/endpoints/bench/predict", f"{base}/v1/health"
    elif name in ("bare", "bare_async"):
        module = "bare_fastapi_async" if name == "bare_async" else "bare_fastapi"
        command = [sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(HERE),
                   "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                   "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                   "--log-level", "warning"]  # fmt: skip
        url, ready = f"{base}/predict", f"{base}/openapi.json"
    else:
        # `mlflow models serve` starts `uvicorn` by name: the peers' bin must come first on PATH.
        env["PATH"] = f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}"
        command = [str(PEERS_BIN / "mlflow"), "models", "serve", "-m", str(BUILD / "mlflow_model"),
                   "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", "1"]  # fmt: skip
        url, ready = f"{base}/invocations", f"{base}/ping"
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    payload = "champion" if name.startswith("champion") else "bare" if "bare" in name else name
    server = Server(name, process, url, BUILD / f"payload_{payload}.json", log, base)
    try:
        wait_ready(ready, server)
    except BaseException:
        stop(server)
        raise
    return server


def wait_ready(url: str, server: Server, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{tail(server.log)}"
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name}: {url} not ready after {seconds:g} s:\n{tail(server.log)}")


def stop(server: Server, seconds: float = 30) -> None:
    """SIGTERM the server's process group, wait until every process in it has ended (mlflow
    runs uvicorn as a child, champion its fold worker: one still running would take CPU from
    the next server measured), then SIGKILL what is left."""
    group = server.process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        server.process.poll()  # reaps the leader: a zombie is no longer running
        if not _running_in_group(group):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    server.process.wait(10)


def _running_in_group(group: int) -> bool:
    """Whether a process of process group ``group`` is still running (not a zombie)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # After the command's closing parenthesis: state, parent, process group, ...
            state, _, pgrp = stat.read_text().rpartition(")")[2].split()[:3]
            if int(pgrp) == group and state != "Z":
                return True
    return False


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# -- checks ----------------------------------------------------------------------------------


def check_answer(server: Server) -> dict[str, Any]:
    """One request before timing: 200, and the same probabilities as the fitted model."""
    response = httpx.post(
        server.url,
        content=server.body.read_bytes(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    if response.status_code != 200:
        time.sleep(0.5)  # let the server's log catch up
        raise RuntimeError(
            f"{server.name} answered {response.status_code}: {response.text}\n"
            f"Server log:\n{tail(server.log, 6)}"
        )
    answer = response.json()
    expected = [p for row in json.loads((BUILD / "expected.json").read_text()) for p in row]
    found = list(numbers(answer.get("predictions")))
    if not all(any(math.isclose(e, f, rel_tol=1e-6) for f in found) for e in expected):
        raise RuntimeError(f"{server.name} answered {answer}, expected probabilities {expected}")
    return answer


def numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)


def champion_logged(server: Server) -> int:
    """Prediction events champion wrote to its database (the writer flushes every 0.2 s)."""
    time.sleep(1.0)
    stats = httpx.get(f"{server.base}/v1/endpoints/bench/stats", timeout=10).json()
    return sum(int(v["requests"]) for v in stats["versions"])


# -- load ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU time spent by everything on the machine (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wrk(server: Server, connections: int, duration: int) -> dict[str, Any]:
    cpu_before = cpu_seconds(server.process.pid)
    busy_before = machine_busy_seconds()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
         "-s", str(HERE / "post.lua"), server.url],
        env=dict(os.environ, BODY=str(server.body)), capture_output=True, text=True, check=True,
    )  # fmt: skip
    cpu = cpu_seconds(server.process.pid) - cpu_before
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (wrk_after.ru_utime - wrk_before.ru_utime) + (
        wrk_after.ru_stime - wrk_before.ru_stime
    )
    # CPU used by anything but this server and wrk, in cores: other work on a shared machine
    # skews the numbers, and this says by how much.
    other = (machine_busy_seconds() - busy_before - cpu - wrk_cpu) / (time.monotonic() - started)
    result = parse_wrk(done.stdout)
    requests = result["requests"]
    result["server_cpu_ms_per_request"] = round(1000 * cpu / requests, 3) if requests else None
    result["other_cpu_cores"] = round(max(other, 0.0), 2)
    return result


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests, req/s, p50/p90/p99 and failures from the output of ``wrk --latency``."""
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return {
        "requests": int(_find(r"(\d+) requests in", out)),
        "requests_per_second": float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        "p50_ms": _ms(latency["50"]),
        "p90_ms": _ms(latency["90"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "socket_errors_by_kind": dict(
            zip(
                ("connect", "read", "write", "timeout"),
                map(int, socket_errors.groups()),
                strict=True,
            )
        )
        if socket_errors
        else {},
        "wrk_output": out,
    }


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"unexpected wrk output (no {pattern!r}):\n{text}")
    return match.group(1)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"unexpected wrk latency {text!r}")
    value, unit = match.groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 4)


def bench(name: str, tmp: Path, duration: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    print(f"{name}: starting (load average {load_before:.2f})", file=sys.stderr)
    server = start(name, tmp)
    try:
        sample = check_answer(server)
        wrk(server, 8, WARMUP_SECONDS)
        runs: dict[str, Any] = {}
        for c in CONNECTIONS:
            runs[f"c{c}"] = wrk(server, c, duration)
            r = runs[f"c{c}"]
            print(
                f"{name}: c={c} {r['requests_per_second']:.0f} req/s, p50 {r['p50_ms']:.2f} ms,"
                f" p99 {r['p99_ms']:.2f} ms, non-2xx {r['non_2xx']},"
                f" other load {r['other_cpu_cores']:.2f} cores",
                file=sys.stderr,
            )
        result: dict[str, Any] = {
            "load_average_1min_before": round(load_before, 2),
            "sample_answer": sample,
            "runs": runs,
        }
        if name.startswith("champion"):
            timed = sum(r["requests"] for r in runs.values())
            result["events_logged"] = champion_logged(server)
            result["requests_timed"] = timed
        return result
    finally:
        stop(server)


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per connection count, the round with the median throughput (all rounds' req/s kept)."""
    if len(rounds) == 1:
        return rounds[0]
    result = dict(rounds[-1])
    result["runs"] = {}
    for c in rounds[0]["runs"]:
        ordered = sorted(rounds, key=lambda r: r["runs"][c]["requests_per_second"])
        median = dict(ordered[len(ordered) // 2]["runs"][c])
        median["requests_per_second_by_round"] = [
            r["runs"][c]["requests_per_second"] for r in rounds
        ]
        result["runs"][c] = median
    result["load_average_1min_before"] = [r["load_average_1min_before"] for r in rounds]
    if "events_logged" in result:
        result["events_logged"] = sum(r["events_logged"] for r in rounds)
        result["requests_timed"] = sum(r["requests_timed"] for r in rounds)
    return result


# -- report ----------------------------------------------------------------------------------


def versions(python: Path, names: tuple[str, ...]) -> dict[str, str | None]:
    if Path(python) == Path(sys.executable):
        found: dict[str, str | None] = {}
        for n in names:
            try:
                found[n] = importlib.metadata.version(n)
            except importlib.metadata.PackageNotFoundError:
                found[n] = None
        return found
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    done = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def champion_source() -> dict[str, Any]:
    """Which champion was measured: the commit, whether src/ differs from it, and whether the
    package imported is this checkout's (PYTHONPATH can point elsewhere)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    changed = subprocess.run(
        ["git", "-C", str(ROOT), "diff-index", "--quiet", "HEAD", "--", "src"], capture_output=True
    )
    found = subprocess.run(
        [sys.executable, "-c", "import champion; print(champion.__file__)"],
        capture_output=True,
        text=True,
    )
    module = Path(found.stdout.strip()).resolve() if found.returncode == 0 else None
    return {
        "commit": head.stdout.decode().strip() or None,
        "src_differs_from_commit": changed.returncode != 0,
        "imported_from_this_checkout": bool(module and module.is_relative_to(ROOT.resolve())),
    }


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version.splitlines()[0] if wrk_version else None,
        "env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "champion_source": champion_source(),
        "champion_venv": versions(Path(sys.executable), CHAMPION_PACKAGES),
    }
    if (PEERS_BIN / "python").exists():
        info["peers_venv"] = versions(PEERS_BIN / "python", PEER_PACKAGES)
    return info


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pairs = [("champion", peer) for peer in PEER_SERVERS]
    pairs += [("champion_workers2", "champion"), ("champion_workers2", BASELINE)]
    for name, peer in pairs:
        mine_runs = results.get(name, {}).get("runs", {})
        runs = results.get(peer, {}).get("runs", {})
        for c in sorted(mine_runs.keys() & runs.keys(), key=lambda c: int(c[1:])):
            mine, theirs = mine_runs[c], runs[c]
            out[f"{name}_vs_{peer}_{c}"] = {
                "throughput": round(mine["requests_per_second"] / theirs["requests_per_second"], 3),
                "p50": round(mine["p50_ms"] / theirs["p50_ms"], 3),
                "p99": round(mine["p99_ms"] / theirs["p99_ms"], 3),
            }
    return out


def targets(results: dict[str, Any], ratio: dict[str, Any]) -> dict[str, Any]:
    """Issue 13's targets, each a ratio within this run (the host's speed cancels out)."""
    out: dict[str, Any] = {}
    for c in ("c1", "c32"):
        key = f"champion_vs_{BASELINE}_{c}"
        if key in ratio:
            value = ratio[key]["throughput"]
            out[f"throughput_{c}_at_least_0.8x_{BASELINE}"] = {"value": value, "met": value >= 0.8}
    if f"champion_vs_{BASELINE}_c1" in ratio:
        value = ratio[f"champion_vs_{BASELINE}_c1"]["p99"]
        out[f"p99_c1_at_most_1.25x_{BASELINE}"] = {"value": value, "met": value <= 1.25}
    if "champion_workers2_vs_champion_c32" in ratio:
        value = ratio["champion_workers2_vs_champion_c32"]["throughput"]
        out["workers2_c32_at_least_1.6x_one_worker"] = {"value": value, "met": value >= 1.6}
    return out


def markdown(report: dict[str, Any]) -> str:
    results, ratio = report["results"], report["ratios"]
    lines = [
        "| server | connections | req/s | p50 ms | p99 ms | non-2xx | server CPU ms/req |"
        " other load (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        for c, r in result["runs"].items():
            lines.append(
                f"| {name} | {c[1:]} | {r['requests_per_second']:,.0f} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['non_2xx'] + r['socket_errors']} | "
                f"{r['server_cpu_ms_per_request']:.3f} | {r.get('other_cpu_cores', 0):.2f} |"
            )
    if ratio:
        lines += [
            "",
            "| ratio | connections | throughput | p50 | p99 |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for key, r in ratio.items():
            label, c = key.rsplit("_", 1)
            lines.append(
                f"| {label.replace('_vs_', ' / ')} | {c[1:]} | {r['throughput']:.2f}x | "
                f"{r['p50']:.2f}x | {r['p99']:.2f}x |"
            )
    if report["targets"]:
        lines += ["", "| target | value | met |", "| --- | ---: | --- |"]
        for key, t in report["targets"].items():
            lines.append(f"| {key} | {t['value']} | {'yes' if t['met'] else 'NO'} |")
    for name, result in results.items():
        if "events_logged" in result:
            lines += [
                "",
                f"{name} logged {result['events_logged']:,} prediction events for "
                f"{result['requests_timed']:,} timed requests (plus warm-up and checks).",
            ]
    lines += ["", f"Load average (1 min) before each server: {report['load_average']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--only", default=",".join(SERVERS), help="comma-separated servers")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over all servers; report each one's median"
    )
    args = parser.parse_args()
    servers = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers {sorted(unknown)}; choose from {', '.join(SERVERS)}")
    if args.duration < 1:
        parser.error("--duration must be at least 1 second")
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing. Install it with: apt-get update && apt-get install -y wrk")
    if "champion" in servers and not CHAMPION.exists():
        sys.exit(f"{CHAMPION} is missing: run this with champion's venv (.venv/bin/python)")
    if "mlflow" in servers:
        check_peers()
    make = [sys.executable, str(HERE / "make_model.py")]
    subprocess.run([*make] if "mlflow" in servers else [*make, "--no-mlflow"], check=True)

    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    failed: list[str] = []
    with exclusive(), tempfile.TemporaryDirectory(prefix="champion-bench-") as tmp:
        for number in range(args.repeat):
            for name in servers:
                if any(f.startswith(f"{name}:") for f in failed):
                    continue
                try:
                    folder = Path(tmp) / f"{name}-{number}"
                    folder.mkdir()
                    rounds[name].append(bench(name, folder, args.duration))
                except Exception as exc:
                    failed.append(f"{name}: {exc}")
                    print(f"{name} FAILED: {exc}", file=sys.stderr)
    results = {name: combine(done) for name, done in rounds.items() if done}
    ratio = ratios(results)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_seconds": args.duration,
        "repeat": args.repeat,
        "warmup_seconds": WARMUP_SECONDS,
        "load": "wrk -t1 -cC -dDs --latency -s post.lua, C in (1, 32), loopback",
        "machine": machine(),
        "results": results,
        "ratios": ratio,
        "targets": targets(results, ratio),
        "load_average": {
            name: result.get("load_average_1min_before") for name, result in results.items()
        },
        "failed": failed,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    errors = [
        f"{name} c={c[1:]}: {r['non_2xx']} non-2xx, {r['socket_errors']} socket errors"
        for name, result in results.items()
        for c, r in result["runs"].items()
        if r["non_2xx"] or r["socket_errors"]
    ]
    for problem in failed + errors:
        print(f"\nPROBLEM: {problem}", file=sys.stderr)
    sys.exit(1 if failed or errors else 0)


if __name__ == "__main__":
    main()
