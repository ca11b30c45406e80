"""Start N champion replicas behind HAProxy on this machine, sharing one database and one
artifact store; print where everything is; stop it all on Ctrl-C (or SIGTERM).

    python deploy/replicas.py --replicas 2 --store s3 \\
        --database-url postgresql://postgres:secret@127.0.0.1/champion

Clients use the balancer (default http://127.0.0.1:8000, the URL the CLI and champion.Client
call by default); replica i listens on --first-replica-port + i - 1 (8001, 8002, ...).

Artifact store: ``--store s3`` starts moto's S3 server (champion's test extra) on loopback
with a bucket ``champion`` (moto keeps objects in memory: they go when the set stops);
``--artifacts-url s3://bucket/prefix`` uses a real store, with the AWS_* variables of this
shell; ``--store folder`` (the default) shares ``<dir>/artifacts`` between the replicas.
Database: ``--database-url`` (or CHAMPION_DATABASE_URL); without either, one SQLite file in
``<dir>``, which the replicas on one machine can share.

Everything lives in ``--dir`` (default ``.champion-replicas``): a home per replica (its log
``server.log``, its spool, its cache), ``haproxy.log``, the servers file, HAProxy's admin
socket and ``replicas.json`` (addresses and process ids). Running the script again while a
set runs in that folder prints that set and exits 0; a set whose supervisor died is cleaned
up (its processes stopped) and started anew.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "haproxy" / "haproxy.cfg"
STATE = "replicas.json"
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "champion",
    "AWS_SECRET_ACCESS_KEY": "champion",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def main() -> int:
    args = _arguments()
    run = args.dir.resolve()
    run.mkdir(parents=True, exist_ok=True)
    running = _running(run)
    if running is not None:
        if "balancer" not in running:
            print(f"Starting (supervisor pid {running['pid']}); run this again in a moment.")
            return 0
        print(f"Already running (supervisor pid {running['pid']}):")
        _describe(running)
        return 0
    if args.replicas < 1:
        return _usage(f"--replicas {args.replicas!r}: at least 1.")
    # Port 0: any free one (for the replicas, the first of as many free in a row).
    args.port = args.port or _free_port()
    args.stats_port = args.stats_port or _free_port()
    args.first_replica_port = args.first_replica_port or _free_ports_in_a_row(args.replicas)
    if args.first_replica_port is None:
        return _usage(f"No {args.replicas} free ports in a row; choose --first-replica-port.")
    ports = [args.port, args.stats_port]
    ports += [args.first_replica_port + i for i in range(args.replicas)]
    for port in ports:
        if not _port_free(port):
            return _usage(f"Port {port} on 127.0.0.1 is in use; choose other ports.")

    children: dict[str, subprocess.Popen[bytes]] = {}
    state: dict[str, Any] = {"pid": os.getpid(), "dir": str(run), "processes": {}}
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if "balancer" not in state:  # still starting: stop waiting for it
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        env = _environment(args, run, children, state)
        replicas = {}
        for i in range(1, args.replicas + 1):
            name, port = f"replica-{i}", args.first_replica_port + i - 1
            replicas[name] = f"http://127.0.0.1:{port}"
            children[name] = _replica(run / name, port, env, args.store == "folder")
            state["processes"][name] = children[name].pid
        _save(run, state)  # the processes so far, for a cleanup should this one die
        for name, url in replicas.items():
            _wait(f"{url}/v1/health/ready", children[name], run / name / "server.log")
        children["haproxy"] = _haproxy(run, replicas, args)
        state["processes"]["haproxy"] = children["haproxy"].pid
        balancer = f"http://127.0.0.1:{args.port}"
        _wait(f"{balancer}/v1/health/ready", children["haproxy"], run / "haproxy.log")
        state.update(
            balancer=balancer,
            replicas=replicas,
            stats=f"http://127.0.0.1:{args.stats_port}/",
            socket=str(run / "haproxy.sock"),
        )
        _save(run, state)
        _describe(state)
        print("Ctrl-C stops everything.", flush=True)
        reported: set[str] = set()
        while not stopping:
            for name, child in children.items():
                if name not in reported and child.poll() is not None:
                    reported.add(name)
                    print(f"{name} exited with {child.returncode}", file=sys.stderr, flush=True)
            time.sleep(0.2)
    except _Failed as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped while starting.", file=sys.stderr)
        return 130
    finally:
        _stop_all(children)
        (run / STATE).unlink(missing_ok=True)
    return 0


class _Failed(Exception):
    pass


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="how many (default 2)")
    parser.add_argument("--port", type=int, default=8000, help="the balancer's; 0: any free")
    parser.add_argument(
        "--first-replica-port", type=int, default=8001, help="0: the first of N free in a row"
    )
    parser.add_argument("--stats-port", type=int, default=8404, help="HAProxy's page, /metrics")
    parser.add_argument("--dir", type=Path, default=Path(".champion-replicas"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CHAMPION_DATABASE_URL"),
        help="default CHAMPION_DATABASE_URL, else SQLite in --dir",
    )
    parser.add_argument("--store", choices=("folder", "s3"), default="folder")
    parser.add_argument("--artifacts-url", help="s3://bucket/prefix of a real store (no moto)")
    return parser.parse_args()


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _environment(
    args: argparse.Namespace,
    run: Path,
    children: dict[str, subprocess.Popen[bytes]],
    state: dict[str, Any],
) -> dict[str, str]:
    """What every replica shares: the database, the artifact store (starting moto if asked)."""
    env = dict(os.environ)
    env["CHAMPION_DATABASE_URL"] = args.database_url or f"sqlite:///{run / 'champion.db'}"
    env.pop("CHAMPION_ARTIFACTS_URL", None)
    if args.artifacts_url:
        env["CHAMPION_ARTIFACTS_URL"] = args.artifacts_url
    elif args.store == "s3":
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        with (run / "moto.log").open("ab") as log:
            children["moto"] = subprocess.Popen(
                command, stdout=log, stderr=log, start_new_session=True
            )
        state["processes"]["moto"] = children["moto"].pid
        _wait(f"{endpoint}/moto-api/", children["moto"], run / "moto.log")
        env.update(MOTO_CREDENTIALS, AWS_ENDPOINT_URL=endpoint)
        # An S3 CreateBucket; moto needs no signature.
        httpx.put(f"{endpoint}/champion", timeout=10).raise_for_status()
        env["CHAMPION_ARTIFACTS_URL"] = "s3://champion/artifacts"
        state["s3_endpoint"] = endpoint
    state["database_url"] = _without_password(env["CHAMPION_DATABASE_URL"])
    state["artifacts"] = env.get("CHAMPION_ARTIFACTS_URL", str(run / "artifacts"))
    return env


def _replica(
    home: Path, port: int, env: dict[str, str], share_folder: bool
) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    if share_folder and "CHAMPION_ARTIFACTS_URL" not in env:
        # Each replica has its own home (spool, cache, pipelines) but one artifacts folder.
        shared = home.parent / "artifacts"
        shared.mkdir(exist_ok=True)
        link = home / "artifacts"
        if not link.is_symlink():
            link.symlink_to(shared, target_is_directory=True)
    # One process per replica: HAProxy balances the replicas, Prometheus scrapes each.
    command = [sys.executable, "-m", "champion", "server", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--workers", "1"]  # fmt: skip
    with (home / "server.log").open("ab") as log:
        return subprocess.Popen(
            command,
            env=dict(env, CHAMPION_HOME=str(home)),
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops them in order
        )


def _haproxy(
    run: Path, replicas: dict[str, str], args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    servers = run / "servers.cfg"
    lines = ["backend champion"]
    lines += [f"    server {name} {url.removeprefix('http://')}" for name, url in replicas.items()]
    servers.write_text("\n".join(lines) + "\n")
    env = dict(
        os.environ,
        CHAMPION_BALANCER_BIND=f"127.0.0.1:{args.port}",
        CHAMPION_HAPROXY_STATS=f"127.0.0.1:{args.stats_port}",
        CHAMPION_HAPROXY_SOCKET=str(run / "haproxy.sock"),
    )
    command = ["haproxy", "-db", "-f", str(CONFIG), "-f", str(servers)]
    try:
        with (run / "haproxy.log").open("ab") as log:
            return subprocess.Popen(
                command, env=env, stdout=log, stderr=log, start_new_session=True
            )
    except FileNotFoundError:
        raise _Failed("haproxy is not installed (Debian: apt-get install haproxy).") from None


def _wait(url: str, child: subprocess.Popen[bytes], log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise _Failed(f"{log.stem} process exited with {child.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise _Failed(f"{url} did not answer 200 within {seconds:g} s; see {log}")


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """The balancer first (no new requests), then the replicas (SIGTERM: each finishes its
    requests and writes its queued events), then the object store they write to."""
    order = ["haproxy"] + [n for n in children if n.startswith("replica-")] + ["moto"]
    for group in (order[:1], order[1:-1], order[-1:]):
        alive = [children[n] for n in group if n in children and children[n].poll() is None]
        for child in alive:
            child.terminate()
        for child in alive:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _running(run: Path) -> dict[str, Any] | None:
    """The set described in ``run`` if its supervisor lives; else stop what it left behind."""
    path = run / STATE
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    if _alive(int(state["pid"]), "replicas.py"):
        return state
    for name, pid in state.get("processes", {}).items():
        expected = {"haproxy": "haproxy", "moto": "moto.server"}.get(name, "champion")
        if _alive(pid, expected):
            print(f"Stopping {name} (pid {pid}) left by a supervisor that died", file=sys.stderr)
            os.kill(pid, signal.SIGTERM)
            _gone(pid)
    path.unlink()
    return None


def _alive(pid: int, command: str) -> bool:
    # The command line guards against a pid reused by an unrelated process.
    try:
        return command in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _gone(pid: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)


def _save(run: Path, state: dict[str, Any]) -> None:
    temporary = run / f"{STATE}.tmp"
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(run / STATE)  # readers see the old file or the new, never half


def _describe(state: dict[str, Any]) -> None:
    print(f"balancer   {state['balancer']}   (CHAMPION_URL for the CLI and champion.Client)")
    for name, url in state["replicas"].items():
        print(f"{name:<10} {url}   pid {state['processes'][name]}")
    print(f"HAProxy    {state['stats']} (page), {state['stats']}metrics, socket {state['socket']}")
    print(f"database   {state['database_url']}")
    print(
        f"artifacts  {state['artifacts']}"
        + (f" at {state['s3_endpoint']}" if "s3_endpoint" in state else "")
    )
    print(f"logs       {state['dir']}/replica-*/server.log, {state['dir']}/haproxy.log", flush=True)


def _without_password(url: str) -> str:
    return str(sqlalchemy.make_url(url).render_as_string(hide_password=True))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_ports_in_a_row(count: int) -> int | None:
    for _ in range(100):
        first = _free_port()
        if all(_port_free(first + i) for i in range(count)):
            return first
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
