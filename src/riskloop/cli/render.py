"""What the ``riskloop`` commands print: rich tables and verdict lines, and nothing else.

The commands of :mod:`riskloop.cli` decide what to run; these functions only lay out what came
back, on :data:`console` (stdout) — messages for a person who must act go to :data:`err`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, JustifyMethod
from rich.table import Table

if TYPE_CHECKING:  # the commands import these lazily; rendering needs only their shapes
    import pandas as pd

    from riskloop.monitoring.monitor import EarlyDrift, MonitorRun
    from riskloop.retraining.simulator import Timeline
    from riskloop.retraining.workflow import RetrainResult

console = Console()
err = Console(stderr=True)

# the window metrics the monitor prints, with their column titles
WINDOW_COLUMNS = (
    ("n", "n"),
    ("max_feature_psi", "max PSI"),
    ("prediction_psi", "score PSI"),
    ("approval_rate", "approved"),
    ("expected_auc", "exp. AUC"),
    ("n_labelled", "labelled"),
    ("realised_auc", "AUC"),
    ("realised_ks", "KS"),
    ("realised_brier", "Brier"),
    ("expected_bad_rate", "exp. bad|appr."),
    ("bad_rate_approved", "bad|appr."),
    ("latency_p95_ms", "p95 ms"),
)

# the columns of the drift table, with how they are aligned
_DRIFT_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("feature", "left"),
    ("PSI", "right"),
    ("status", "left"),
    ("test", "left"),
    ("statistic", "right"),
    ("p-value", "right"),
    ("n ref", "right"),
)

# the holdout figures of a retrain, with how many decimals each is shown with
_HOLDOUT_FIGURES = (
    ("profit_per_1000", 0),
    ("auc", 4),
    ("brier", 4),
    ("dp_ratio", 3),
    ("eo_difference", 3),
)


def _missing(value: Any) -> bool:
    """None or NaN (``value != value`` is True only for NaN)."""
    return value is None or value != value


def print_report(outputs: Mapping[str, Any]) -> None:
    """The training pipeline's read-back outputs: metrics per split, the candidates compared
    on validation, the business answer and the registration verdict (each when present)."""
    metrics, report = outputs.get("metrics"), outputs.get("registration_report")
    if metrics:
        table = Table(title="Metrics")
        table.add_column("split")
        for name in ("auc", "gini", "ks", "brier", "n"):
            table.add_column(name, justify="right")
        for split, values in metrics.items():
            table.add_row(
                split,
                *(
                    f"{values[k]:.4f}" if k != "n" else str(values[k])
                    for k in ("auc", "gini", "ks", "brier", "n")
                ),
            )
        console.print(table)
    comparison = outputs.get("model_comparison")
    if comparison is not None and len(comparison):
        table = Table(title="Candidates (validation; profit per 1,000 applications)")
        for column in ("candidate", "CV AUC", "AUC", "profit", "95 % CI"):
            table.add_column(
                column,
                justify="left" if column == "candidate" else "right",
                no_wrap=column == "candidate",
            )
        for row in comparison.to_dict("records"):
            cv = row.get("cv_auc_mean")
            auc = row.get("validation_auc")
            table.add_row(
                f"{row['name']}{' *' if row.get('selected') else ''}",
                "—" if _missing(cv) else f"{cv:.4f} ± {row['cv_auc_sd']:.4f}",
                "—" if _missing(auc) else f"{auc:.4f}",
                f"{row['validation_profit']:,.0f}",
                f"{row['validation_profit_low']:,.0f} to {row['validation_profit_high']:,.0f}",
            )
        console.print(table)
    impact = outputs.get("business_impact")
    if impact:
        console.print(f"Is ML worth it here? {impact['answer']}")
    if report:
        verdict = "[green]champion[/]" if report["promoted"] else "[yellow]not promoted[/]"
        console.print(
            f"Registered {report['model_name']} version {report['version']}: {verdict}"
            f" — {report['reason']}. Champion is version {report['champion_version']}."
        )


def print_retrain(outcome: RetrainResult) -> None:
    """Champion and challenger on the holdout, the training rows and the gate's verdict."""
    table = Table(title=f"Holdout of {outcome.n_holdout} recent labelled applications")
    for column in ("model", "profit / 1,000", "AUC", "Brier", "DP ratio", "EO diff"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for label, figures in (
        (f"champion v{outcome.champion_version_before}", outcome.champion),
        (f"challenger v{outcome.challenger_version}", outcome.challenger),
    ):
        if figures:
            table.add_row(
                label,
                *(
                    "—" if figures.get(key) is None else f"{figures[key]:,.{digits}f}"
                    for key, digits in _HOLDOUT_FIGURES
                ),
            )
    console.print(table)
    console.print(
        f"Trained on {outcome.n_production} production + {outcome.n_reference} reference rows."
    )
    verdict = "[green]promoted[/]" if outcome.promoted else "[yellow]refused[/]"
    console.print(f"Challenger v{outcome.challenger_version} {verdict}: {outcome.reason}")
    console.print(f"Champion is version {outcome.champion_version_after}.")


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def print_timeline(timeline: Timeline) -> None:
    """The drift simulation window by window, each retrain's verdict, and the summary."""
    table = Table(title=f"Simulation: {timeline.drift} drift on {timeline.scenario}")
    for column in ("window", "drift", "model", "max PSI", "score PSI", "AUC", "alerts", "action"):
        numeric = column in ("max PSI", "score PSI", "AUC")
        table.add_column(column, justify="right" if numeric else "left")
    for w in timeline.windows:
        action = ""
        if w["retrained"]:
            failed = ", ".join(w["failed_gates"])
            action = "[green]promoted[/]" if w["promoted"] else f"[yellow]refused[/]: {failed}"
        elif w["gate"]:
            action = "no retrain: too few outcomes"
        table.add_row(
            str(w["window"]),
            str(w["drift_strength"]),
            f"v{w['model_version']}",
            _number(w["max_feature_psi"]),
            _number(w["prediction_psi"]),
            _number(w.get("realised_auc")),
            ", ".join(w["alerts"]) or "",
            action,
        )
    console.print(table)
    for retrain in timeline.retrains:
        verdict = "promoted" if retrain["promoted"] else "refused"
        console.print(
            f"Window {retrain['window']}: challenger v{retrain['challenger_version']} {verdict}"
            f" — {retrain['reason']} (judged on {retrain['n_compared'] or retrain['n_holdout']}"
            f" recent applications; trained on {retrain['n_production']} older outcomes and"
            f" {retrain['n_reference']} reference rows)",
            highlight=False,
        )
    console.print(
        f"Drift onset: window {timeline.onset_window}; first alert: {timeline.first_alert_window};"
        f" retrains: {timeline.retrain_windows or 'none'}; promotions:"
        f" {timeline.promoted_windows or 'none'}."
    )
    console.print(
        f"Realised AUC on post-shift rows: old champion {_number(timeline.auc_before)},"
        f" promoted model {_number(timeline.auc_after)} (n = {timeline.n_after_rows})."
    )
    if timeline.attack is not None:
        for batch in timeline.quarantined:
            console.print(
                f"Quarantined: {batch['n_rows']} outcomes from {batch['source']} —"
                f" {(batch['problems'] or ['?'])[0]}",
                highlight=False,
            )
        console.print(
            f"Attack {timeline.attack}: {len(timeline.quarantined)} batch(es) quarantined;"
            f" champion v{timeline.champion_before_attack} before,"
            f" v{timeline.champion_after_attack} after."
        )


def print_drift_table(table: pd.DataFrame, title: str, n: int) -> None:
    """PSI and the two-sample test per feature (``drift_by_feature``'s table) for ``n`` logged
    applications, with the reading guide and a warning when ``n`` is too small for PSI."""
    from riskloop.evaluation.drift import MIN_ROWS_FOR_PSI

    out = Table(title=title)
    for name, justify in _DRIFT_COLUMNS:
        out.add_column(name, justify=justify)
    colour = {"stable": "green", "watch": "yellow", "act": "red"}
    for row in table.itertuples():
        out.add_row(
            row.feature,
            f"{row.psi:.4f}",
            f"[{colour[row.status]}]{row.status}[/]",
            row.test,
            f"{row.statistic:.4f}",
            f"{row.p_value:.3g}",
            str(row.n_reference),
        )
    console.print(out)
    console.print("PSI < 0.10 stable, 0.10–0.25 watch, > 0.25 act.")
    if n < MIN_ROWS_FOR_PSI:
        console.print(
            f"[yellow]Only {n} logged applications: PSI is noisy below"
            f" {MIN_ROWS_FOR_PSI}; read these figures as a smoke test, not a verdict.[/]"
        )


def _cell(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else f"{value:.3f}"


def print_windows(windows: Sequence[Mapping[str, Any]]) -> None:
    """One row per monitored window with the figures of :data:`WINDOW_COLUMNS`."""
    out = Table(title="Windows (realised figures by decision window; — = not enough outcomes)")
    out.add_column("window", no_wrap=True)
    for _, title in WINDOW_COLUMNS:
        out.add_column(title, justify="right")
    for window in windows:
        out.add_row(
            window["window_id"].rsplit(":", 1)[-1],
            *(_cell(window.get(key)) for key, _ in WINDOW_COLUMNS),
        )
    console.print(out)


def print_monitor_run(run: MonitorRun) -> None:
    """The newest window's drift, every window's figures and each alert rule's verdict."""
    latest = run.windows[-1]
    print_drift_table(
        run.drift,
        f"Drift vs training data — {run.model_name} v{run.model_version},"
        f" window {latest['window_id']}, n={latest['n']}",
        latest["n"],
    )
    print_windows(run.windows)
    for outcome in run.outcomes:
        style = "bold red" if outcome.fired else "green"
        console.print(f"[{style}]{outcome.describe()}[/]", highlight=False)


def print_early_drift(early: EarlyDrift) -> None:
    """Drift over everything logged, for a log still too short for a first window."""
    print_drift_table(
        early.drift,
        f"Drift vs training data — {early.model_name} v{early.model_version},"
        f" all {early.n_logged} logged applications",
        early.n_logged,
    )
    console.print(
        f"[yellow]{early.reason}: windowed metrics and alert rules start then.[/]",
        highlight=False,
    )
