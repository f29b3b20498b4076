"""Latency and throughput of ``riskloop serve`` vs ``mlflow models serve``: same model, same run.

    .venv/bin/python benchmarks/serving.py            # ≈ 5 minutes + training on 2 cores
    .venv/bin/python benchmarks/serving.py --quick    # shorter phases, for a smoke run
    .venv/bin/python benchmarks/serving.py --workdir /tmp/bench   # keep (and reuse) the
                                                  # trained registry between runs

What it does, all on 127.0.0.1:

1. Trains and registers the champion in a temporary MLflow database by running the project's
   pipeline (:func:`riskloop.pipelines.runner.run_pipeline`).
2. Starts ``riskloop serve`` (one uvicorn process, prediction log ON: a SQLite file in WAL mode,
   every 200 is committed before it is sent) and ``mlflow models serve -m
   models:/<model>@champion --env-manager local`` (one uvicorn worker, its default).
3. For each server: an **open-loop** load at fixed request rates — request *i* is due at
   ``t0 + i / rate`` whatever happened to the previous ones, and its latency is measured from
   that due time, so a server that falls behind is charged for the queue it builds (no
   "coordinated omission"); then a **closed-loop** throughput run: ``--connections`` clients
   each send the next request as soon as the last is answered, for a fixed time.
4. Writes the table between ``<!-- serving:start -->`` and ``<!-- serving:end -->`` in
   docs/benchmarks.md (other sections are kept).

The load generator is plain Python (``http.client`` on keep-alive connections, one thread per
connection): it shares the machine's cores with the server, which makes absolute numbers
pessimistic — the same for both servers. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOC = PROJECT_DIR / "docs" / "benchmarks.md"
START, END = "<!-- serving:start -->", "<!-- serving:end -->"
SCENARIO = PROJECT_DIR / "conf" / "base" / "scenarios" / "credit.yml"


@dataclass
class Server:
    model: str
    name: str
    port: int
    path: str
    bodies: list[bytes]
    process: subprocess.Popen


@dataclass
class Result:
    model: str
    server: str
    mode: str
    target_rate: float | None
    sent: int
    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, path: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server on port {port} did not answer {path} within {timeout} s")


# riskloop's credential (every role); `mlflow models serve` ignores the header
ADMIN_TOKEN = "serving-benchmark-admin-token-0123456789"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"}


def _post(connection: http.client.HTTPConnection, path: str, body: bytes) -> int:
    connection.request("POST", path, body, HEADERS)
    response = connection.getresponse()
    response.read()
    return response.status


def _percentiles(latencies: list[float]) -> tuple[float, float, float, float]:
    if not latencies:
        return (float("nan"),) * 4
    values = np.asarray(latencies) * 1000.0
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99), float(values.max())


def open_loop(server: Server, rate: float, seconds: float, connections: int) -> Result:
    """Fixed-rate load: request i is due at t0 + i/rate; latency counts from the due time."""
    total = int(rate * seconds)
    next_index = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    t0 = time.perf_counter() + 0.2

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            due = t0 + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            try:
                status = _post(connection, server.path, server.bodies[i % len(server.bodies)])
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                status = -1
            done = time.perf_counter()
            with lock:
                if status == 200:
                    latencies.append(done - due)
                else:
                    errors[0] += 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds * 10 + 60)
    elapsed = time.perf_counter() - t0
    return Result(
        server.model, server.name, "fixed rate", rate, total, len(latencies), errors[0], elapsed,
        *_percentiles(latencies),
    )  # fmt: skip


def closed_loop(server: Server, seconds: float, connections: int) -> Result:
    """Each of ``connections`` clients sends its next request as soon as the last returns."""
    latencies: list[float] = []
    errors = [0]
    sent = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        i = offset
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                status = _post(connection, server.path, server.bodies[i % len(server.bodies)])
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                status = -1
            finished = time.perf_counter()
            with lock:
                sent[0] += 1
                if status == 200:
                    latencies.append(finished - started)
                else:
                    errors[0] += 1
            i += connections
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    return Result(
        server.model, server.name, "max throughput", None, sent[0], len(latencies), errors[0],
        elapsed, *_percentiles(latencies),
    )  # fmt: skip


def applicants(limit: int) -> list[dict]:
    frame = pd.read_csv(PROJECT_DIR / "data" / "01_raw" / "credit_data.csv").drop(columns="Status")
    frame = frame.head(limit)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def train_and_register(root: Path) -> dict[str, str]:
    """Run the pipeline into ``root`` (unless a registry is already there from an earlier run
    with the same ``--workdir``); returns the environment that points at it."""
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "RISKLOOP_ARTIFACT_DIR": str(root / "mlartifacts"),
        "RISKLOOP_DATA_DIR": str(root / "data"),
        "RISKLOOP_DATABASE_URL": f"sqlite:///{root / 'predictions.db'}",
        "RISKLOOP_RELOAD_INTERVAL_S": "0",
        "KEDRO_DISABLE_TELEMETRY": "1",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    os.environ.update(env)
    from riskloop import provenance, registry
    from riskloop.pipelines.runner import run_pipeline
    from riskloop.settings import Settings

    registry.configure(env["MLFLOW_TRACKING_URI"])
    settings = Settings()  # the benchmark's workspace (environment above): its local key
    registry.configure_trust(
        settings.model_trust(), provenance.ensure_signing_key(settings.resolved_signing_key_file)
    )
    if not (root / "mlflow.db").exists():
        run_pipeline(PROJECT_DIR, data_dir=root / "data")
    # a fresh prediction log for every run
    (root / "predictions.db").unlink(missing_ok=True)
    return env


def register_logistic(root: Path, model_name: str) -> None:
    """A logistic-regression scorer (fast, exact linear reason codes) registered as champion of
    ``model_name`` — isolates the service's own cost from the cost of the pipeline's model."""
    import mlflow

    from riskloop import registry
    from riskloop.data.scenario import load_scenario
    from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean
    from riskloop.pipelines.runner import run_in_memory
    from riskloop.pipelines.training.pipeline import create_pipeline

    if registry.version_for_alias(model_name) is not None:
        return
    scenario = load_scenario(SCENARIO)
    raw = pd.read_csv(PROJECT_DIR / "data" / "01_raw" / "credit_data.csv")
    raw.attrs.update(source="credit_data.csv", sha256="benchmark")
    clean, lineage = validate_and_clean(raw, scenario)
    train, validation, _ = split_applications(
        clean, scenario, {"test_size": 0.2, "validation_size": 0.2, "seed": 42}
    )
    # the training pipeline's own nodes, with one candidate and its fixed parameters
    inputs = {
        "train": train,
        "validation": validation,
        "scenario": scenario,
        "params:model": {"type": "sklearn_logistic_regression"},
        "params:tuning": {"folds": 3, "seed": 42, "n_bootstrap": 50},
        "params:candidates": {"sklearn_logistic_regression": {"C": 1.0, "max_iter": 1000}},
        "params:search_spaces": {},
        "data_lineage": lineage,
    }
    scorer = run_in_memory(create_pipeline(), inputs, ["selected_scorer"])["selected_scorer"]
    registry.use_experiment("serving-benchmark", root / "mlartifacts")
    with mlflow.start_run(run_name="serving-benchmark-logistic"):
        info = registry.register_scorer(scorer, model_name, tags={})
    registry.set_alias(model_name, info.version)


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        # `mlflow models serve` runs `uvicorn` from PATH: the venv's
        env={**os.environ, **env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so stopping it stops its children too
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def render(results: list[Result], meta: dict[str, str]) -> str:
    lines = [
        START,
        "## Serving: `riskloop serve` vs `mlflow models serve`",
        "",
        f"Run {meta['when']} on {meta['machine']}. Two registered models, each served by both"
        " servers in turn (one uvicorn process each, on 127.0.0.1): the pipeline's champion"
        f" ({meta['champion']}) and a logistic regression ({meta['logistic']}). Requests of one"
        " applicant each (rows of the bundled data, cycled). riskloop returns reason codes and"
        " logs every scored application (SQLite, WAL, `synchronous=NORMAL`; the response waits"
        " for the commit); `mlflow models serve` returns probability and decision only. The load"
        " generator (`benchmarks/serving.py`, Python `http.client` on keep-alive connections)"
        " runs on the same 2 cores. Fixed-rate rows: open loop, latency measured from each"
        " request's due time (a server that falls behind is charged for its queue);"
        f" max-throughput rows: closed loop, {meta['connections']} connections,"
        f" {meta['seconds']} s.",
        "",
        "| model | server | load | requests | 200s | errors | p50 ms | p95 ms | p99 ms | max ms |"
        " throughput req/s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        load = f"{r.target_rate:g} req/s" if r.target_rate else "max throughput"
        lines.append(
            f"| {r.model} | {r.server} | {load} | {r.sent:,} | {r.ok:,} | {r.errors} |"
            f" {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.1f} |"
            f" {r.throughput:,.0f} |"
        )
    lines.append("")
    for model in dict.fromkeys(r.model for r in results):
        ours = {r.target_rate: r for r in results if r.model == model and r.server == "riskloop"}
        theirs = {r.target_rate: r for r in results if r.model == model and r.server != "riskloop"}
        ratio = ours[None].throughput / theirs[None].throughput
        goals = []
        at_200 = ours.get(200.0)
        if at_200 is not None:
            goals.append(
                f"p50 at 200 req/s {at_200.p50_ms:.2f} ms (goal ≤ 2: "
                f"{'met' if at_200.p50_ms <= 2 else 'missed'}), p99 {at_200.p99_ms:.2f} ms"
                f" (goal ≤ 10: {'met' if at_200.p99_ms <= 10 else 'missed'})"
            )
        goals.append(
            f"throughput {ratio:.1f}× mlflow (goal ≥ 3×: {'met' if ratio >= 3 else 'missed'})"
        )
        lines.append(f"- **{model}**: " + "; ".join(goals) + ".")
    lines += ["", meta["notes"], END]
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,200", help="fixed request rates (req/s)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--connections", type=int, default=8, help="client connections")
    parser.add_argument("--quick", action="store_true", help="3-second phases (smoke run)")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the doc")
    parser.add_argument(
        "--workdir", type=Path, help="keep the trained registry here and reuse it next time"
    )
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    rates = [float(r) for r in args.rates.split(",")]
    rows = applicants(500)

    with tempfile.TemporaryDirectory(prefix="riskloop-bench-") as tmp:
        root = Path(tmp) if args.workdir is None else args.workdir.resolve()
        root.mkdir(parents=True, exist_ok=True)
        print("training and registering the champion …", flush=True)
        started = time.perf_counter()
        env = train_and_register(root)
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
        from riskloop import registry
        from riskloop.data.scenario import load_scenario

        model_name = load_scenario(SCENARIO).model_name
        logistic_name = f"{model_name}-logistic"
        register_logistic(root, logistic_name)
        logistic_scenario = root / "logistic.yml"
        logistic_scenario.write_text(
            SCENARIO.read_text().replace(
                f"model_name: {model_name}", f"model_name: {logistic_name}"
            )
        )
        models = {}
        for name, scenario_file in ((model_name, SCENARIO), (logistic_name, logistic_scenario)):
            version = registry.version_for_alias(name).version
            kind = type(registry.load_scorer(name, version).estimator).__name__
            models[f"{kind} (v{version})"] = (name, scenario_file)

        results: list[Result] = []
        acknowledged = 0
        logged = 0
        for label, (name, scenario_file) in models.items():
            env["RISKLOOP_DATABASE_URL"] = f"sqlite:///{root / f'predictions-{name}.db'}"
            env["RISKLOOP_ADMIN_TOKEN"] = ADMIN_TOKEN
            (root / f"predictions-{name}.db").unlink(missing_ok=True)
            ours_port, theirs_port = free_port(), free_port()
            ours = start(
                [str(BIN / "riskloop"), "serve", "--port", str(ours_port), "--scenario",
                 str(scenario_file)],
                env,
                root / "ours.log",
            )  # fmt: skip
            theirs = start(
                [
                    str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{name}@champion",
                    "--env-manager", "local", "-h", "127.0.0.1", "-p", str(theirs_port),
                ],
                env,
                root / "theirs.log",
            )  # fmt: skip
            try:
                wait_until_up(ours_port, "/ready", ours)
                wait_until_up(theirs_port, "/ping", theirs)
                servers = [
                    Server(label, "riskloop", ours_port, "/v1/score",
                           [json.dumps(r).encode() for r in rows], ours),
                    Server(label, "mlflow models serve", theirs_port, "/invocations",
                           [json.dumps({"dataframe_records": [r]}).encode() for r in rows],
                           theirs),
                ]  # fmt: skip
                for server in servers:
                    # warm-up: caches, lazy imports, first-call compilation
                    warm = closed_loop(server, 2.0, 2)
                    acknowledged += warm.ok if server.name == "riskloop" else 0
                    for rate in rates:
                        print(f"{label} / {server.name}: {rate:g} req/s, {seconds:g} s", flush=True)
                        results.append(open_loop(server, rate, seconds, args.connections))
                    print(f"{label} / {server.name}: max throughput, {seconds:g} s", flush=True)
                    results.append(closed_loop(server, seconds, args.connections))
            except RuntimeError:
                for log in ("ours.log", "theirs.log"):
                    print(f"---- {log}\n" + (root / log).read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                stop(ours)
                stop(theirs)
            logged += _count_logged(env["RISKLOOP_DATABASE_URL"])
        acknowledged += sum(r.ok for r in results if r.server == "riskloop")
        print(f"prediction logs: {logged:,} rows for {acknowledged:,} acknowledged riskloop scores")
        labels = list(models)
        meta = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python"
            f" {platform.python_version()}",
            "champion": labels[0],
            "logistic": labels[1],
            "connections": str(args.connections),
            "seconds": f"{seconds:g}",
            "notes": f"The prediction logs hold {logged:,} rows for the {acknowledged:,} riskloop"
            " requests answered 200 (warm-up included): nothing acknowledged is missing."
            + _explain_cost(root, models),
        }
        section = render(results, meta)
        print(section)
        if not args.no_write:
            write_section(section)
            print(f"written to {DOC}")


def _explain_cost(root: Path, models: dict[str, tuple[str, Path]]) -> str:
    """One sentence: what scoring one applicant costs in-process, with and without reasons."""
    from riskloop import registry

    parts = []
    for label, (name, _) in models.items():
        scorer = registry.load_scorer(name, registry.version_for_alias(name).version)
        record = {f.name: f.typical for f in scorer.input_schema.features}
        scorer.score_records([record])
        started = time.perf_counter()
        for _ in range(20):
            scorer.score_records([record])
        with_reasons = (time.perf_counter() - started) / 20 * 1000
        matrix = scorer.preprocessor.transform_records([record])
        started = time.perf_counter()
        for _ in range(20):
            scorer.estimator.predict_proba(matrix)
        bare = (time.perf_counter() - started) / 20 * 1000
        parts.append(
            f"{label}: `Scorer.score_records` of one applicant takes {with_reasons:.2f} ms in"
            f" process, of which the estimator's `predict_proba` {bare:.2f} ms (the rest is"
            " mostly the reason codes)"
        )
    return " " + "; ".join(parts) + "."


def _count_logged(url: str) -> int:
    from riskloop.store import PredictionStore

    store = PredictionStore(url)
    try:
        return store.count()
    finally:
        store.dispose()


if __name__ == "__main__":
    main()
