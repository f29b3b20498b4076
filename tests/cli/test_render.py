"""What the ``riskloop`` commands print, line by line: the layouts moved out of the commands
into ``riskloop.cli.render`` and must read exactly as before (README, docs and runbooks quote
them)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from rich.console import Console

from riskloop.cli import render
from riskloop.retraining.simulator import Timeline
from riskloop.retraining.workflow import RetrainResult


@pytest.fixture()
def printed(monkeypatch):
    """The lines ``render`` prints, as a person's 120-column terminal shows them."""
    console = Console(record=True, width=120, color_system=None)
    monkeypatch.setattr(render, "console", console)

    def lines() -> list[str]:
        return [line.rstrip() for line in console.export_text().splitlines()]

    return lines


def test_the_training_report(printed):
    comparison = pd.DataFrame(
        [
            {"name": "lr", "selected": True, "cv_auc_mean": 0.75, "cv_auc_sd": 0.01,
             "validation_auc": 0.74, "validation_profit": 1234.5,
             "validation_profit_low": 1000.0, "validation_profit_high": 1500.0},
            {"name": "always approve", "selected": False, "cv_auc_mean": float("nan"),
             "cv_auc_sd": float("nan"), "validation_auc": None, "validation_profit": -10.0,
             "validation_profit_low": -20.0, "validation_profit_high": 0.0},
        ]
    )  # fmt: skip
    render.print_report(
        {
            "metrics": {"test": {"auc": 0.7, "gini": 0.4, "ks": 0.3, "brier": 0.2, "n": 50}},
            "model_comparison": comparison,
            "business_impact": {"answer": "yes, by 1,234 per 1,000"},
            "registration_report": {
                "promoted": False,
                "model_name": "credit-risk",
                "version": "3",
                "reason": "AUC below the champion's",
                "champion_version": "2",
            },
        }  # fmt: skip
    )
    out = printed()
    assert "│ test  │ 0.7000 │ 0.4000 │ 0.3000 │ 0.2000 │ 50 │" in out
    assert "│ lr *           │ 0.7500 ± 0.0100 │ 0.7400 │  1,234 │ 1,000 to 1,500 │" in out
    assert "│ always approve │               — │      — │    -10 │       -20 to 0 │" in out
    assert out[-2:] == [
        "Is ML worth it here? yes, by 1,234 per 1,000",
        "Registered credit-risk version 3: not promoted — AUC below the champion's. Champion is"
        " version 2.",
    ]


def test_a_retrain_verdict(printed):
    render.print_retrain(
        RetrainResult(
            "credit-risk",
            "2",
            "1",
            "1",
            promoted=False,
            reason="profit: +12 < 50",
            champion={
                "profit_per_1000": 1234.5,
                "auc": 0.7512,
                "brier": 0.18,
                "dp_ratio": 0.91,
                "eo_difference": None,
            },
            challenger={
                "profit_per_1000": 1400.0,
                "auc": 0.76,
                "brier": 0.17,
                "dp_ratio": 0.85,
                "eo_difference": 0.05,
            },
            n_reference=300,
            n_production=280,
            n_holdout=120,
        )  # fmt: skip
    )
    out = printed()
    assert out[0].strip() == "Holdout of 120 recent labelled applications"
    assert "│ champion v1   │          1,234 │ 0.7512 │ 0.1800 │    0.910 │       — │" in out
    assert "│ challenger v2 │          1,400 │ 0.7600 │ 0.1700 │    0.850 │   0.050 │" in out
    assert out[-3:] == [
        "Trained on 280 production + 300 reference rows.",
        "Challenger v2 refused: profit: +12 < 50",
        "Champion is version 1.",
    ]


def test_the_simulation_timeline(printed):
    window = {"drift_strength": 1.0, "model_version": "1", "max_feature_psi": 0.4,
              "prediction_psi": 0.3, "realised_auc": 0.6, "alerts": [], "retrained": False,
              "gate": None, "promoted": False, "failed_gates": []}  # fmt: skip
    timeline = Timeline(
        drift="recession",
        scenario="credit",
        windows=[
            {**window, "window": 0, "realised_auc": None},
            {**window, "window": 1, "alerts": ["sustained_drift"], "gate": "x"},
            {**window, "window": 2, "retrained": True, "failed_gates": ["profit", "auc"]},
            {**window, "window": 3, "model_version": "2", "retrained": True, "promoted": True},
        ],
        onset_window=1,
        first_alert_window=1,
        retrain_windows=[2, 3],
        promoted_windows=[3],
        auc_before=0.6,
        n_after_rows=400,
        retrains=[
            {
                "window": 3,
                "challenger_version": "2",
                "promoted": True,
                "reason": "r",
                "n_compared": 0,
                "n_holdout": 600,
                "n_production": 1400,
                "n_reference": 700,
            }
        ],  # fmt: skip
    )
    render.print_timeline(timeline)
    out = printed()
    rows = [line for line in out if line.startswith("│")]
    assert rows[0].split("│")[4:8] == ["   0.400 ", "     0.300 ", "     — ", "                 "]
    assert rows[1].split("│")[-2].strip() == "no retrain: too few outcomes"
    assert rows[2].split("│")[-2].strip() == "refused: profit, auc"
    assert rows[3].split("│")[-2].strip() == "promoted"
    assert " ".join(out[-4:-2]) == (  # the console wraps the decision's line
        "Window 3: challenger v2 promoted — r (judged on 600 recent applications; trained on"
        " 1400 older outcomes and 700 reference rows)"
    )
    assert out[-2:] == [
        "Drift onset: window 1; first alert: 1; retrains: [2, 3]; promotions: [3].",
        "Realised AUC on post-shift rows: old champion 0.600, promoted model — (n = 400).",
    ]


def test_windows_show_counts_as_integers_and_missing_figures_as_dashes(printed):
    render.print_windows(
        [
            {
                "window_id": "count:500:#3",
                "n": 500,
                "max_feature_psi": 0.1234,
                "n_labelled": 0.0,
                "realised_auc": None,
            }
        ]  # fmt: skip
    )
    [row] = [line for line in printed() if line.startswith("│")]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:4] == ["#3", "500", "0.123", "—"]
    assert cells[6] == "0.000"  # labelled: none yet, not "0"
    assert cells[7] == "—"


def test_drift_so_far_before_the_first_window(printed):
    drift = pd.DataFrame(
        [
            {
                "feature": "Income",
                "psi": 8.5063,
                "status": "act",
                "test": "ks",
                "statistic": 0.5211,
                "p_value": 0.958,
                "n_reference": 2672,
            }
        ]  # fmt: skip
    )
    render.print_early_drift(
        SimpleNamespace(
            model_name="credit-risk",
            model_version="2",
            drift=drift,
            n_logged=1,
            reason="the log holds 1 applications, fewer than the 100 a first window needs",
        )  # fmt: skip
    )
    out = printed()
    assert out[0].strip() == "Drift vs training data — credit-risk v2, all 1 logged applications"
    assert "│ Income  │ 8.5063 │ act    │ ks   │    0.5211 │   0.958 │  2672 │" in out
    assert out[-3:] == [
        "PSI < 0.10 stable, 0.10–0.25 watch, > 0.25 act.",
        "Only 1 logged applications: PSI is noisy below 100; read these figures as a smoke test,"
        " not a verdict.",
        "the log holds 1 applications, fewer than the 100 a first window needs: windowed metrics"
        " and alert rules start then.",
    ]
