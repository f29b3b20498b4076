"""The drift simulator: the whole loop, in time order, against the service over HTTP.

``riskloop simulate --drift KIND`` (see docs/retraining.md):

1. in a workspace of its own (tracking database, artifacts, prediction log — the project's are
   never touched) it trains a first champion on the scenario's data with the simulation budget;
2. it serves the scoring API on a free loopback port (``create_app`` with the registry
   loader, uvicorn in a thread; an admin token for hot swaps, an API key for the simulated
   origination system) and sends it ``windows`` windows of held-out applicants (the
   pipeline's validation and test splits, which no model was fitted on), each drawn at random
   and drifted with :func:`riskloop.data.synthetic_drift.apply_drift` from
   ``scenario.drift.onset_window`` on;
3. the outcomes of window ``w`` arrive after ``feedback_delay`` windows, one
   ``POST /v1/feedback`` each, ``FEEDBACK_WORKERS`` at a time;
4. after each window it runs the monitor (:func:`riskloop.monitoring.monitor.run_monitor`) with
   one monitor window per simulated window; when a retrain trigger fires (and the last retrain
   is more than ``cooldown_windows`` ago) it runs the retraining workflow, which promotes (the
   service hot-swaps) or refuses.

Honest before/after: the held-out applicants are split once into an *early* pool (75 %) and a
*late* pool (25 %). Windows draw from the early pool until the first promotion and from the late
pool after it, so no applicant the challenger trained on is ever used to measure it; the
challengers' reference rows are the first champion's training split (``Timeline.rows_used``).
The early pool is drawn in order and wraps around when it runs out: a retrain that saw both
passes of an applicant would hold out a row it trained on, so windows × rows before the first
retrain must fit in it (``simulation.first_champion.split`` holds out 60 % of the data file).
Each window's realised AUC is the monitor's own stored figure.
``auc_before`` is the old champion's realised AUC and ``auc_after`` the promoted model's, on the
same post-shift, post-promotion rows. Without a promotion ``auc_before`` is the champion's AUC on
the post-onset rows and ``auc_after`` is None.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskloop import registry
from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.data.synthetic_drift import apply_drift, check_drift_kind, drift_strength
from riskloop.evaluation.metrics import classification_metrics
from riskloop.monitoring.config import MonitorConfig, WindowSpec
from riskloop.monitoring.monitor import run_monitor
from riskloop.retraining.config import RetrainingConfig
from riskloop.retraining.policy import NotEnoughOutcomesError, TrainingData
from riskloop.retraining.workflow import retrain_challenger, train_challenger
from riskloop.store import ApiKeyStore, PredictionStore, RetrainingStore

FEEDBACK_WORKERS = 8  # outcomes are posted one per request, this many at a time
SHED_RETRIES = 10  # a shed outcome (503) is sent again after its Retry-After, this often
SOURCE = "_pool_row"  # which held-out applicant a simulated row was drawn from
EARLY_SHARE = 0.75
ATTACKS = ("flip", "all-good", "segment")


@dataclass
class Timeline:
    """What happened, window by window (``--json`` writes :meth:`to_dict`)."""

    drift: str
    scenario: str
    windows: list[dict[str, Any]] = field(default_factory=list)
    onset_window: int | None = None
    first_alert_window: int | None = None
    retrain_windows: list[int] = field(default_factory=list)
    promoted_windows: list[int] = field(default_factory=list)
    auc_before: float | None = None
    auc_after: float | None = None
    n_after_rows: int = 0
    retrains: list[dict[str, Any]] = field(default_factory=list)
    # ids of the split's rows (held-out applicants by their pool row, the first champion's
    # training rows after them): what trained and judged each challenger, what measured it after
    rows_used: list[dict[str, list[int]]] = field(default_factory=list)
    after_rows: list[int] = field(default_factory=list)
    # an adversary's outcomes (``--attack``): what the label checks quarantined, and the
    # champion before the attack and after the retrain it asked for
    attack: str | None = None
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    champion_before_attack: str | None = None
    champion_after_attack: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=str))


@contextlib.contextmanager
def isolated_workspace(work_dir: Path) -> Iterator[dict[str, Any]]:
    """Point MLflow at ``work_dir``'s own tracking database for the duration, then back.

    Yields the runtime parameters (:func:`riskloop.registry.workspace_params`) that send the
    pipeline runs of the simulation there too, with their artifacts under ``work_dir``: the
    Kedro hook reads them from the run, so the environment is left alone. The model trust those
    runs configure (their workspace's artifact root) is put back as well.
    """
    tracking_uri = f"sqlite:///{work_dir / 'mlflow.db'}"
    previous = registry.current_tracking_uri()
    registry.configure(tracking_uri)
    try:
        with registry.restoring_trust():
            yield registry.workspace_params(tracking_uri, work_dir / "mlartifacts")
    finally:
        registry.configure(previous)


@contextlib.contextmanager
def served_on_loopback(app: Any, timeout_s: float = 30.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port, as ``riskloop serve``
    would; yields its URL once ``GET /health`` answers, stops it afterwards."""
    import socket
    import threading

    import httpx
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="simulated-service", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                    break
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the simulated service did not answer GET {url}/health within {timeout_s:g} s"
                )
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def send_outcomes(client: Any, rows: list[dict[str, Any]], headers: dict[str, str]) -> None:
    """POST each outcome to ``/v1/feedback`` as an origination system would, ``FEEDBACK_WORKERS``
    requests at a time, sending one again after the ``Retry-After`` of a 503 (the service's
    admission control shed it; at most ``SHED_RETRIES`` times); raises naming the first
    refusal."""
    from concurrent.futures import ThreadPoolExecutor

    def post(row: dict[str, Any]) -> Any:
        for _ in range(SHED_RETRIES):
            answer = client.post("/v1/feedback", json=row, headers=headers)
            if answer.status_code != 503:
                return answer
            time.sleep(min(float(answer.headers.get("Retry-After", 1)), 5.0))
        return answer

    with ThreadPoolExecutor(FEEDBACK_WORKERS) as pool:
        answers = list(pool.map(post, rows))
    refused = [(row, a) for row, a in zip(rows, answers, strict=True) if a.status_code != 200]
    if refused:
        row, answer = refused[0]
        raise RuntimeError(
            f"the service refused {len(refused)} of {len(rows)} outcomes; the first,"
            f" {row['application_id']}: HTTP {answer.status_code} {answer.text[:300]}"
        )


def fired_triggers(run: Any) -> list[str]:
    """Names of the rules that fire after this monitor run (unmeasured windows — outcomes not
    yet arrived — are left out by :func:`riskloop.monitoring.alerts.evaluate_rule`)."""
    return sorted({o.rule.name for o in run.fired})


def _auc(y: np.ndarray, probability: np.ndarray) -> float | None:
    if len(y) < 2 or y.min() == y.max():
        return None
    return float(classification_metrics(y, probability)["auc"])


def simulate(
    project_dir: Path,
    scenario_file: Path,
    scenario: Scenario,
    drift: str,
    config: RetrainingConfig,
    monitor_config: MonitorConfig,
    *,
    work_dir: Path | None = None,
    windows: int | None = None,
    rows_per_window: int | None = None,
    progress: Callable[[str], None] | None = None,
    attack: str | None = None,
) -> Timeline:
    """Run the simulation (module docstring) and return its timeline.

    Parameters
    ----------
    project_dir, scenario_file, scenario : the project and the scenario to simulate.
    drift : {"stable", "inflation", "new-segment", "recession"}
        The drift injected from ``scenario.drift.onset_window`` on.
    config : RetrainingConfig
        Policy and gates of the retrains; ``config.simulation`` gives the defaults below and the
        training budget of every model the simulation trains.
    monitor_config : MonitorConfig
        Rules of the monitor; its windows are replaced by one count window per simulated window.
    work_dir : Path, optional
        Workspace (a temporary folder, removed afterwards, when None).
    windows, rows_per_window : int, optional
        Override ``config.simulation``.
    progress : callable, optional
        Called with one line per event (the CLI prints them).
    attack : {"flip", "all-good", "segment"}, optional
        From ``scenario.drift.onset_window`` on, the outcomes sent are lies (:func:`lie`); they
        go through the label checks (maturity aside: simulated time has none), and after the
        last window the adversary asks for a retrain.
    """
    check_drift_kind(drift, scenario.drift)
    if attack is not None and attack not in ATTACKS:
        raise ValueError(f"--attack must be one of {', '.join(ATTACKS)}; received {attack!r}")
    if attack is not None:
        # outcomes arrive seconds after their decisions here: every other check applies
        checks = config.label_checks.model_copy(update={"min_maturity_days": 0.0})
        config = config.model_copy(update={"label_checks": checks})
    spec = config.simulation
    n_windows = windows or spec.windows
    size = rows_per_window or spec.rows_per_window
    say = progress or (lambda line: None)
    monitor = MonitorConfig(
        windows=WindowSpec(
            by="count",
            size=size,
            recent=max(monitor_config.recent_windows, n_windows),
            min_rows=size,
        ),
        rules=monitor_config.rules,
        min_labelled=min(monitor_config.min_labelled, size // 2),
    )
    retrain_on = set(spec.retrain_on) if spec.retrain_on is not None else None
    with contextlib.ExitStack() as stack:
        folder = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        workspace = stack.enter_context(isolated_workspace(folder))
        # every pipeline run (first champion, challengers) goes to the workspace's registry
        training = {**(spec.training or config.training), **workspace}
        retraining = config.model_copy(update={"training": training})
        return _run(
            project_dir,
            scenario_file,
            scenario,
            drift,
            retraining,
            monitor,
            folder,
            workspace,
            n_windows,
            size,
            retrain_on,
            say,
            attack,
        )


def _run(
    project_dir: Path,
    scenario_file: Path,
    scenario: Scenario,
    drift: str,
    config: RetrainingConfig,
    monitor: MonitorConfig,
    folder: Path,
    workspace: dict[str, Any],
    n_windows: int,
    size: int,
    retrain_on: set[str] | None,
    say: Callable[[str], None],
    attack: str | None = None,
) -> Timeline:
    import httpx

    from riskloop.pipelines.runner import run_pipeline
    from riskloop.serving.app import ServiceConfig, create_app
    from riskloop.serving.loading import champion_version, load_registered_model
    from riskloop.serving.model_holder import ModelHolder

    spec = config.simulation
    name = scenario.model_name
    rng = np.random.default_rng(spec.seed)
    say(f"training the first champion of {name} (simulation budget) …")
    run_pipeline(
        project_dir,
        scenario_file=scenario_file,
        data_dir=folder / "data",
        params={**spec.training, **spec.first_champion, **workspace},
    )
    model_input = folder / "data" / "05_model_input"
    held_out = pd.concat(
        [
            pd.read_parquet(model_input / "validation.parquet"),
            pd.read_parquet(model_input / "test.parquet"),
        ],
        ignore_index=True,
    )
    held_out[SOURCE] = np.arange(len(held_out))
    order = rng.permutation(len(held_out))
    cut = int(EARLY_SHARE * len(held_out))
    early, late = held_out.iloc[order[:cut]], held_out.iloc[order[cut:]]
    # the challengers' reference rows: what the first champion trained on, never the held-out
    # applicants the service is sent (ids after theirs, so every row of the split has one)
    reference = pd.read_parquet(model_input / "train.parquet")
    reference.index = pd.RangeIndex(len(held_out), len(held_out) + len(reference))
    first = registry.load_champion(name)
    assert first is not None, "the first pipeline run registers a champion"
    old_champion = first[0]
    scorers = {first[1].version: old_champion}
    # the analysed attributes (sensitive, not model inputs) are sent too: the monitor measures
    # fairness per window from the log
    inputs = old_champion.input_schema.names + old_champion.analysed_schema.names

    token = secrets.token_hex(16)
    store = PredictionStore(f"sqlite:///{folder / 'predictions.db'}")
    app = create_app(
        ModelHolder(),
        store,
        load_model=lambda: load_registered_model(name),
        champion_version=lambda: champion_version(name),
        config=ServiceConfig(admin_token=token, max_batch_rows=max(1000, size)),
    )
    timeline = Timeline(drift=drift, scenario=scenario.name, attack=attack)
    timeline.onset_window = None if drift == "stable" else scenario.drift.onset_window
    outcomes: dict[int, list[dict[str, Any]]] = {}
    served: list[pd.DataFrame] = []
    last_retrain: int | None = None
    used: list[TrainingData] = []  # what each challenger was trained and judged on

    def train(data: TrainingData, work: Path) -> str:
        used.append(data)
        return train_challenger(project_dir, scenario_file, scenario, data, work, config.training)

    promoted_at: int | None = None
    cursor = 0
    with served_on_loopback(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        headers = {"Authorization": f"Bearer {token}"}  # the admin token: reloads
        # the simulated origination system scores (and would post outcomes) with its own key
        scoring_key = ApiKeyStore(store.engine).create("simulator", ["scorer", "outcomes"]).key
        scoring = {"Authorization": f"Bearer {scoring_key}"}

        def reload(version: str) -> None:
            answer = client.post("/v1/admin/reload", headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"the service did not reload version {version}: {answer.text}")

        for window in range(n_windows):
            # ---- draw and drift this window's applicants
            if promoted_at is None:
                picks = [(cursor + i) % len(early) for i in range(size)]
                cursor += size
                pool = early
                rows = early.iloc[picks]
            else:
                pool = late
                rows = late.iloc[rng.integers(0, len(late), size=size)]
            rows = apply_drift(rows.reset_index(drop=True), pool, drift, window, scenario, rng)
            ids = [f"w{window:03d}-{i:05d}" for i in range(size)]
            body = {
                "applications": [
                    {**{k: _json_value(v) for k, v in record.items()}, "application_id": i}
                    for record, i in zip(rows[inputs].to_dict("records"), ids, strict=True)
                ]
            }
            response = client.post("/v1/score/batch", json=body, headers=scoring)
            if response.status_code != 200:
                raise RuntimeError(f"the service refused window {window}: {response.text[:500]}")
            results = response.json()["results"]
            y = target_vector(rows, scenario)
            served.append(
                pd.DataFrame(
                    {
                        "window": window,
                        "application_id": ids,
                        "probability": [r["probability_of_default"] for r in results],
                        "version": [r["model_version"] for r in results],
                        "outcome": y,
                        SOURCE: rows[SOURCE].to_numpy(),
                        "after_promotion": promoted_at is not None,
                    }
                ).join(rows[inputs + [scenario.data.target]].reset_index(drop=True))
            )
            attacked = attack is not None and window >= scenario.drift.onset_window
            if attacked and timeline.champion_before_attack is None:
                timeline.champion_before_attack = champion_version(name)
            sent = lie(y, rows, attack, config, scenario) if attacked and attack else y
            outcomes[window] = [
                {"application_id": i, "outcome": int(o)} for i, o in zip(ids, sent, strict=True)
            ]
            # ---- outcomes of an earlier window arrive
            due = window - spec.feedback_delay
            if due in outcomes:
                arrived = outcomes.pop(due)
                send_outcomes(client, arrived, scoring)
                # simulated time: outcomes arrive seconds after their decisions, so maturity
                # cannot be checked; true ones are accepted as such (structural rules were
                # applied by the API), an adversary's wait for the label checks
                if attack is None or due < scenario.drift.onset_window:
                    RetrainingStore(store.engine).set_label_status(
                        [row["application_id"] for row in arrived], "accepted"
                    )
            # ---- the monitor, and a retrain when a trigger fires
            version = results[0]["model_version"]
            if version not in scorers:
                scorers[version] = registry.load_scorer(name, version)
            run = run_monitor(store, scorers[version], name, version, monitor, scenario=scenario)
            fired = fired_triggers(run)
            alerts = [f for f in fired if retrain_on is None or f in retrain_on]
            latest = run.windows[-1]
            record: dict[str, Any] = {
                "window": window,
                "drift_strength": drift_strength(window, scenario.drift.onset_window)
                if drift != "stable"
                else 0,
                "model_version": version,
                "n": size,
                "max_feature_psi": latest.get("max_feature_psi"),
                "prediction_psi": latest.get("prediction_psi"),
                "expected_auc": latest.get("expected_auc"),
                "fired": fired,
                "alerts": alerts,
                "retrained": False,
                "promoted": False,
                "gate": None,
                "failed_gates": [],
            }
            if alerts and timeline.first_alert_window is None:
                timeline.first_alert_window = window
            cooling = last_retrain is not None and window - last_retrain <= spec.cooldown_windows
            if alerts and not cooling:
                say(f"window {window}: {', '.join(alerts)} fired — retraining …")
                try:
                    outcome = retrain_challenger(
                        project_dir,
                        scenario_file,
                        scenario,
                        store,
                        reference,
                        config,
                        artifact_dir=folder / "mlartifacts",
                        work_dir=folder / f"retrain-{window:03d}",
                        trigger=",".join(alerts),
                        train=train,
                        on_promoted=reload,
                    )
                except NotEnoughOutcomesError as error:
                    record["gate"] = f"no retrain: {error}"
                else:
                    last_retrain = window
                    timeline.retrain_windows.append(window)
                    record.update(
                        retrained=True,
                        promoted=outcome.promoted,
                        gate=outcome.reason,
                        failed_gates=sorted({f.split(":")[0] for f in outcome.failures}),
                    )
                    timeline.retrains.append({"window": window, **asdict(outcome)})
                    timeline.rows_used.append(_rows_used(used[-1], served))
                    if outcome.promoted:
                        timeline.promoted_windows.append(window)
                        promoted_at = window if promoted_at is None else promoted_at
                    say(
                        f"window {window}: challenger v{outcome.challenger_version}"
                        f" {'promoted' if outcome.promoted else 'refused'} — {outcome.reason}"
                    )
            timeline.windows.append(record)
        if attack is not None:
            say(f"the adversary ({attack}) asks for a retrain …")
            try:
                outcome = retrain_challenger(
                    project_dir, scenario_file, scenario, store, reference, config,
                    artifact_dir=folder / "mlartifacts", work_dir=folder / "retrain-attack",
                    trigger=f"attack: {attack}", train=train, on_promoted=reload,
                )  # fmt: skip
                timeline.retrains.append({"window": n_windows, **asdict(outcome)})
            except NotEnoughOutcomesError as error:
                say(f"no retrain: {error}")
            timeline.champion_after_attack = champion_version(name)
            timeline.quarantined = [
                {key: event["payload"].get(key) for key in ("source", "n_rows", "problems")}
                for event in store.monitoring.audit_events("feedback_quarantined")
            ]
    monitored_auc(timeline, store, name, monitor.window_prefix)
    _realised(timeline, pd.concat(served, ignore_index=True), old_champion, scenario, drift)
    after = pd.concat(served, ignore_index=True)
    timeline.after_rows = after.loc[after["after_promotion"], SOURCE].astype(int).tolist()
    store.dispose()
    return timeline


def lie(
    y: np.ndarray, rows: pd.DataFrame, attack: str, config: RetrainingConfig, scenario: Scenario
) -> np.ndarray:
    """The outcomes an adversary sends instead of ``y``: ``flip`` every one, ``all-good``
    (nobody defaulted), or ``segment``: flip those of the most common value of the first
    segment column the label checks test (:func:`riskloop.retraining.label_checks.segment_columns`),
    leaving the rest true."""
    from riskloop.retraining.label_checks import segment_columns

    if attack == "flip":
        return 1 - y
    if attack == "all-good":
        return np.zeros_like(y)
    inputs = rows.drop(columns=[scenario.data.target, SOURCE], errors="ignore")
    column = segment_columns(inputs, config.label_checks)[0]
    segment = (inputs[column] == inputs[column].mode().iloc[0]).to_numpy()
    return np.where(segment, 1 - y, y)


def _rows_used(data: TrainingData, served: list[pd.DataFrame]) -> dict[str, list[int]]:
    """Split-row ids of one challenger's reference rows, production training rows and
    holdout (see :attr:`Timeline.rows_used`)."""
    log = pd.concat(served, ignore_index=True).set_index("application_id")[SOURCE]
    return {
        "reference": [int(i) for i in data.reference_index],
        "production_train": log.loc[data.train_application_ids].astype(int).tolist(),
        "holdout": log.loc[data.holdout["application_id"].astype(str)].astype(int).tolist(),
    }


def _json_value(value: Any) -> Any:
    """A DataFrame cell as JSON: NaN/NA as null, NumPy scalars as Python numbers."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def monitored_auc(timeline: Timeline, store: PredictionStore, name: str, prefix: str) -> None:
    """Each window's ``realised_auc`` as the monitor measured it for the version that served
    it (its stored result for monitor window ``#w``, one per simulated window): None where the
    monitor never had the outcomes — the last windows, whose outcomes were still due, and a
    window whose outcomes arrived after its model was replaced."""
    stored = {
        (row["model_version"], row["window_id"]): row["value"]
        for row in store.monitoring.results(name, None, ["realised_auc"], prefix)
    }
    for record in timeline.windows:
        key = (record["model_version"], f"{prefix}#{record['window']}")
        record["realised_auc"] = stored.get(key)


def _realised(
    timeline: Timeline, served: pd.DataFrame, old_champion: Any, scenario: Scenario, drift: str
) -> None:
    """The before/after comparison: the old champion's and the promoted model's AUC on the
    same post-shift, post-promotion rows (the old champion never scored them, so the monitor
    has no figure for it there: the simulator computes both the same way)."""
    onset = timeline.onset_window or 0
    shifted = served[served["window"] >= onset]
    after = shifted[shifted["after_promotion"]]
    rows = after if len(after) else shifted
    if rows.empty:
        return
    y = rows["outcome"].to_numpy()
    old = old_champion.predict_proba(rows.reset_index(drop=True))
    timeline.auc_before = _auc(y, old)
    timeline.n_after_rows = len(rows)
    if len(after):
        timeline.auc_after = _auc(y, rows["probability"].to_numpy())
