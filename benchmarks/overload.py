"""Overload: what admission control buys at twice the service's capacity, and what 25,000 requests
to unknown paths cost ``/metrics``.

    .venv/bin/python benchmarks/overload.py             # ≈ 2 minutes on 2 cores
    .venv/bin/python benchmarks/overload.py --no-write  # print, do not edit the doc

What it does, all on 127.0.0.1, against a live uvicorn in its own process, configured as
``riskloop serve`` configures it (:func:`riskloop.serving.server.server_config`, the app of
:func:`riskloop.serving.app.create_app` with its prediction log on a SQLite file) around a
logistic-regression scorer trained by the pipeline's own nodes (no registry: the scorer is saved
to disk and loaded by the server process):

1. **capacity**: a closed loop (``--connections`` clients, each sending its next request when the
   last is answered) measures the 200s per second the service sustains;
2. **overload**: an open loop at ``--factor`` × that capacity — request *i* is due at
   ``t0 + i / rate`` whatever happened before, its latency counted from that due time (no
   coordinated omission) — first with admission control as configured, then with it effectively
   off (``max_in_flight`` = 100,000) for comparison; reported: the p50/p99 of admitted (200)
   requests, the share shed (503), how fast a 503 came;
3. **metric series**: 25,000 requests to 25,000 unique unknown paths (404s, redirects, unknown
   methods), then the size of ``/metrics`` and the time one scrape takes.

Writes the table between ``<!-- overload:start -->`` and ``<!-- overload:end -->`` in
docs/benchmarks.md. The load generator (one Python process, asyncio, requests prebuilt as bytes)
runs on the same cores as the server, so absolute numbers are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from serving import applicants, free_port, stop, wait_until_up

PROJECT_DIR = Path(__file__).resolve().parents[1]
DOC = PROJECT_DIR / "docs" / "benchmarks.md"
START, END = "<!-- overload:start -->", "<!-- overload:end -->"
TOKEN = "overload-benchmark-admin-token-0123456789"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}


@dataclass
class Load:
    """What one load phase saw."""

    label: str
    rate: float | None
    sent: int
    admitted_ms: list[float]
    shed_ms: list[float]
    other: Counter[int]  # any other status (-1: no answer), by status
    seconds: float
    late_p99_ms: float = float("nan")  # the generator's own lag in sending, p99
    admitted_p99_from_sending_ms: float = float("nan")  # 200s timed from their sending
    server_p99_ms: float = float("nan")  # the service's own p99 of its 200s (bucket bound)
    shed_at_door: float = float("nan")  # 503s the server's protocol gave, not the app

    @property
    def admitted_per_s(self) -> float:
        return len(self.admitted_ms) / self.seconds

    @property
    def shed_share(self) -> float:
        return len(self.shed_ms) / max(self.sent, 1)

    def percentile(self, which: str, q: float) -> float:
        values = self.admitted_ms if which == "admitted" else self.shed_ms
        return float(np.percentile(values, q)) if values else float("nan")


# ---- the server process
def serve(scorer_dir: Path, port: int, database: Path, limits: dict[str, float]) -> None:
    """Run the service around the saved scorer until killed (the ``--serve`` mode)."""
    import uvicorn

    from riskloop.scorer import Scorer
    from riskloop.serving.app import ServiceConfig, create_app
    from riskloop.serving.model_holder import LoadedModel, ModelHolder
    from riskloop.serving.server import server_config
    from riskloop.settings import Settings
    from riskloop.store import PredictionStore

    defaults = Settings()
    holder = ModelHolder(LoadedModel(Scorer.load(scorer_dir), name="credit-risk", version="1"))
    config = ServiceConfig(
        admin_token=TOKEN,
        loopback=True,
        max_in_flight=int(limits["max_in_flight"]),
        max_waiting=int(limits["max_waiting"]),
        max_wait_s=limits["max_wait_s"],
    )
    app = create_app(holder, PredictionStore(f"sqlite:///{database}"), config=config)
    uvicorn.Server(
        server_config(
            app,
            "127.0.0.1",
            port,
            header_timeout_s=defaults.header_timeout_s,
            body_timeout_s=defaults.body_timeout_s,
            admission=app.state.admission,
            on_shed=app.state.metrics.shed.inc,
        )
    ).run()


def train_scorer(folder: Path) -> None:
    """The pipeline's logistic regression on the bundled data, saved to ``folder``."""
    import pandas as pd

    from riskloop.data.scenario import load_scenario
    from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean
    from riskloop.pipelines.runner import run_in_memory
    from riskloop.pipelines.training.pipeline import create_pipeline

    scenario = load_scenario(PROJECT_DIR / "conf" / "base" / "scenarios" / "credit.yml")
    raw = pd.read_csv(PROJECT_DIR / "data" / "01_raw" / "credit_data.csv")
    clean, lineage = validate_and_clean(raw, scenario)
    train, validation, _ = split_applications(
        clean, scenario, {"test_size": 0.2, "validation_size": 0.2, "seed": 42}
    )
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
    run_in_memory(create_pipeline(), inputs, ["selected_scorer"])["selected_scorer"].save(folder)


def start_server(root: Path, name: str, limits: dict[str, float]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        sys.executable, __file__, "--serve", str(root / "scorer"), "--port", str(port),
        "--database", str(root / f"{name}.db"), "--limits", json.dumps(limits),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        stdout=(root / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_until_up(port, "/ready", process)
    return process, port


# ---- the load
class Connection:
    """One keep-alive HTTP/1.1 connection with a minimal client (asyncio streams, requests
    prebuilt as bytes): a few tens of microseconds per request, so the load generator takes
    little of the CPU it shares with the server (``http.client`` parses every response head
    with the email parser)."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> int:
        """Send one prebuilt request; its status (-1 when the connection failed)."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await self.reader.readexactly(int(length.group(1)) if length else 0)
            if re.search(rb"(?i)connection: *close", head):
                self.close()
            return int(head[9:12])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return -1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def score_requests(bodies: list[bytes]) -> list[bytes]:
    """``POST /v1/score`` requests, head and body, ready to write."""
    head = (
        "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: %d\r\n\r\n"
    )
    return [(head % len(body)).encode() + body for body in bodies]


class Outcomes:
    """Latencies by outcome, as requests finish."""

    def __init__(self) -> None:
        self.admitted: list[float] = []
        self.shed: list[float] = []
        self.other: Counter[int] = Counter()
        self.late: list[float] = []  # ms between a request's due time and its sending
        self.admitted_from_sending: list[float] = []  # ms of 200s from their sending

    def add(self, status: int, seconds: float) -> None:
        if status == 200:
            self.admitted.append(seconds * 1000)
        elif status == 503:
            self.shed.append(seconds * 1000)
        else:
            self.other[status] += 1

    def load(self, label: str, rate: float | None, sent: int, seconds: float) -> Load:
        late = float(np.percentile(self.late, 99)) if self.late else float("nan")
        from_sending = self.admitted_from_sending
        p99 = float(np.percentile(from_sending, 99)) if from_sending else float("nan")
        return Load(label, rate, sent, self.admitted, self.shed, self.other, seconds, late, p99)


async def closed_loop(port: int, requests: list[bytes], seconds: float, connections: int) -> Load:
    """Each client sends its next request as soon as the last is answered."""
    outcomes = Outcomes()
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def client(offset: int) -> None:
        connection = Connection(port)
        i = offset
        while loop.time() < stop_at:
            started = loop.time()
            outcomes.add(await connection.post(requests[i % len(requests)]), loop.time() - started)
            i += connections
        connection.close()

    started = loop.time()
    await asyncio.gather(*(client(k) for k in range(connections)))
    elapsed = loop.time() - started
    sent = len(outcomes.admitted) + len(outcomes.shed) + outcomes.other.total()
    return outcomes.load("capacity (closed loop)", None, sent, elapsed)


async def open_loop(
    port: int, requests: list[bytes], rate: float, seconds: float, connections: int, label: str
) -> Load:
    """Request i is due at t0 + i/rate whatever happened before; its latency counts from that
    due time. ``connections`` clients share the schedule: each takes the next due request."""
    outcomes = Outcomes()
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    next_index = iter(range(total))
    t0 = loop.time() + 0.2

    async def client() -> None:
        connection = Connection(port)
        for i in next_index:  # shared: each index is taken by one client
            due = t0 + i / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            sent = loop.time()
            outcomes.late.append((sent - due) * 1000)  # the generator's own lag
            status = await connection.post(requests[i % len(requests)])
            outcomes.add(status, loop.time() - due)
            if status == 200:
                outcomes.admitted_from_sending.append((loop.time() - sent) * 1000)
        connection.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return outcomes.load(label, rate, total, loop.time() - t0)


def metric_series_cost(port: int, requests: int, connections: int) -> dict[str, float]:
    """``requests`` requests to as many unique unknown paths, then one scrape of /metrics."""
    kinds = [
        ("GET", "/no-such-page-{i}"),
        ("POST", "/v1/score/{i}/"),
        ("GET", "/v1/score/batch/?q={i}"),  # a redirect
        ("BREW", "/coffee-{i}"),
        ("PATCH", "/v1/unknown/{i}"),
    ]

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(offset, requests, connections):
            method, path = kinds[i % len(kinds)]
            try:
                connection.request(method, path.format(i=i), b"{}", HEADERS)
                response = connection.getresponse()
                response.read()
                if response.getheader("connection") == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    sending = time.perf_counter() - started
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    scrape_started = time.perf_counter()
    connection.request("GET", "/metrics")
    text = connection.getresponse().read()
    scrape_s = time.perf_counter() - scrape_started
    series = sum(
        1 for line in text.splitlines() if line.startswith(b"riskloop_http_requests_total{")
    )
    return {
        "requests": requests,
        "seconds": sending,
        "bytes": len(text),
        "scrape_ms": scrape_s * 1000,
        "series": series,
    }


def scrape(port: int) -> str:
    """The service's ``/metrics`` text."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    return text


def server_histogram(port: int) -> dict[float, float]:
    """The service's own latency histogram of ``/v1/score`` 200s: upper bound (s) -> count."""
    text = scrape(port)
    buckets = {}
    pattern = re.compile(
        r'riskloop_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",'
        r'route="/v1/score",status="200"\} (\S+)'
    )
    for bound, count in pattern.findall(text):
        buckets[float(bound)] = float(count)
    return buckets


def shed_at_the_door(port: int) -> float:
    """Requests refused by the server's protocol so far: all those shed
    (``riskloop_requests_shed_total``) less the 503s the app counted for ``/v1/score``."""
    text = scrape(port)
    shed = re.search(r"^riskloop_requests_shed_total (\S+)$", text, re.MULTILINE)
    by_app = re.search(
        r'^riskloop_http_requests_total\{method="POST",route="/v1/score",status="503"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    return (float(shed.group(1)) if shed else 0.0) - (float(by_app.group(1)) if by_app else 0.0)


def histogram_percentile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The ``q``-th percentile (ms) of what the histogram gained between two scrapes: the upper
    bound of the bucket that holds it (an upper estimate)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] == 0:
        return float("nan")
    total = counts[-1]
    for bound, count in zip(bounds, counts, strict=True):
        if count >= q / 100 * total:
            return bound * 1000
    return float("inf")


# ---- the report
def render(capacity: Load, loads: list[Load], limits: dict, series: dict, meta: dict) -> str:
    lines = [
        START,
        "## Overload: admission control at twice the capacity",
        "",
        f"Run {meta['when']} on {meta['machine']} (`benchmarks/overload.py`{meta['priority']})."
        " One uvicorn process"
        " configured as `riskloop serve` configures it, a logistic-regression scorer, every"
        " score logged (SQLite); requests of one applicant to `/v1/score`. Capacity: closed"
        f" loop, {meta['connections']} connections, {meta['seconds']} s:"
        f" **{capacity.admitted_per_s:,.0f} scores/s** (p50"
        f" {capacity.percentile('admitted', 50):.1f} ms). Overload: open loop at"
        f" {meta['factor']:g} × that rate for {meta['seconds']} s,"
        f" {meta['open_connections']} connections, latency from each request's due time."
        f" Admission control as configured by default: `max_in_flight`"
        f" {limits['max_in_flight']}, `max_waiting` {limits['max_waiting']}, `max_wait_s`"
        f" {limits['max_wait_s']:g}.",
        "",
        "| admission control | offered req/s | sent | 200 | 503 (shed) | other |"
        " 200 p50 ms | 200 p99 ms | 200 p99 ms from sending | 200 p99 ms in the service |"
        " 503 p99 ms | 200/s | sent late p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for load in loads:
        lines.append(
            f"| {load.label} | {load.rate:,.0f} | {load.sent:,} | {len(load.admitted_ms):,} |"
            f" {len(load.shed_ms):,} ({load.shed_share:.0%}) | {_statuses(load.other)} |"
            f" {load.percentile('admitted', 50):.1f} | {load.percentile('admitted', 99):.1f} |"
            f" {load.admitted_p99_from_sending_ms:.1f} | ≤ {load.server_p99_ms:g} |"
            f" {load.percentile('shed', 99):.1f} |"
            f" {load.admitted_per_s:,.0f} | {load.late_p99_ms:.1f} |"
        )
    on = loads[0]
    goal = on.percentile("admitted", 99)
    lines += [
        "",
        f"- Admitted p99 at {meta['factor']:g} × capacity, from each request's due time:"
        f" **{goal:.1f} ms** (goal < 50 ms: {'met' if goal < 50 else 'missed'}); from its"
        f" sending: {on.admitted_p99_from_sending_ms:.1f} ms; inside the service: at most"
        f" {on.server_p99_ms:g} ms (the bucket holding the p99). The load generator, on the same"
        f" cores, sent its requests up to {on.late_p99_ms:.1f} ms late (p99), which the first"
        " figure charges to the service. {on.shed_share:.0%} of requests were shed with 503 +"
        f" `Retry-After` (p99 {on.percentile('shed', 99):.1f} ms),"
        f" {on.shed_at_door / max(len(on.shed_ms), 1):.0%} of them by the server's protocol before"
        f" the app was called; {on.admitted_per_s:,.0f} scores/s were answered 200; without"
        " admission control"
        f" every request waited (p99 {loads[1].percentile('admitted', 99):,.0f} ms).",
        f"- `/metrics` after {series['requests']:,} requests to {series['requests']:,} unique"
        f" unknown paths (404s, redirects, unknown methods): **{series['bytes'] / 1000:,.1f} kB**,"
        f" {series['series']} request-count series, one scrape {series['scrape_ms']:.1f} ms"
        " (before route-template labels: 60 MB and 12 s).",
        END,
    ]
    return "\n".join(lines)


def _statuses(counts: Counter[int]) -> str:
    named = {-1: "no answer"}
    return ", ".join(f"{n:,} × {named.get(s, s)}" for s, n in sorted(counts.items())) or "0"


def write_section(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--factor", type=float, default=2.0, help="overload / capacity")
    parser.add_argument("--connections", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--open-connections", type=int, default=64, help="open-loop clients")
    parser.add_argument("--paths", type=int, default=25_000, help="unique unknown paths")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the doc")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limits", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.database, json.loads(args.limits))
        return

    from riskloop.settings import Settings

    defaults = Settings()
    limits = {
        "max_in_flight": defaults.max_in_flight,
        "max_waiting": defaults.max_waiting,
        "max_wait_s": defaults.max_wait_s,
    }
    unlimited = {"max_in_flight": 100_000, "max_waiting": 0, "max_wait_s": 3600.0}
    requests = score_requests([json.dumps(row).encode() for row in applicants(500)])
    with tempfile.TemporaryDirectory(prefix="riskloop-overload-") as tmp:
        root = Path(tmp)
        print("training the scorer …", flush=True)
        train_scorer(root / "scorer")
        server, port = start_server(root, "limited", limits)
        try:
            asyncio.run(closed_loop(port, requests, 2.0, 2))  # warm-up
            capacity = asyncio.run(closed_loop(port, requests, args.seconds, args.connections))
            rate = args.factor * capacity.admitted_per_s
            print(
                f"capacity {capacity.admitted_per_s:,.0f}/s; overload at {rate:,.0f}/s", flush=True
            )
            before = server_histogram(port)
            limited = asyncio.run(
                open_loop(port, requests, rate, args.seconds, args.open_connections, "on")
            )
            limited.server_p99_ms = histogram_percentile(before, server_histogram(port), 99)
            limited.shed_at_door = shed_at_the_door(port)
            print("metric series …", flush=True)
            series = metric_series_cost(port, args.paths, args.connections)
        finally:
            stop(server)
        server, port = start_server(root, "unlimited", unlimited)
        try:
            asyncio.run(closed_loop(port, requests, 2.0, 2))
            label = "off (max_in_flight 100,000)"
            before = server_histogram(port)
            off = asyncio.run(
                open_loop(port, requests, rate, args.seconds, args.open_connections, label)
            )
            off.server_p99_ms = histogram_percentile(before, server_histogram(port), 99)
        finally:
            stop(server)
    meta = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}",
        "connections": args.connections,
        "open_connections": args.open_connections,
        "seconds": f"{args.seconds:g}",
        "factor": args.factor,
        # a run given priority over the other work on a shared machine says so
        "priority": f", at `nice {os.nice(0)}`" if os.nice(0) else "",
    }
    section = render(capacity, [limited, off], limits, series, meta)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
