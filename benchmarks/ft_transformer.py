"""The FT-Transformer against the GBDTs, logistic regression and the MLP, on the bundled credit
data and on the second example scenario (telecom churn), with the training pipeline's own
tuning budget and selection measures; and how its attention agrees with SHAP.

    .venv/bin/python benchmarks/ft_transformer.py [--scenarios credit churn] [--out FILE]

Per candidate: mean cross-validation AUC of the tuned parameters, validation AUC, validation
profit per 1,000 applications (scenarios with a cost model), tuning + refit seconds, and the
scorer's latency for one row and per row of a 1,000-row batch (preprocessing included, the path
``/v1/score`` takes). Then, for the FT-Transformer on credit: the Spearman rank correlation of
global attention importance (mean [CLS] attention rollout over the validation rows) with global
SHAP importance (mean |SHAP| per feature, the model-agnostic explainer on 200 validation rows),
and the features where the two rankings differ most. Needs the `deep` extra (PyTorch).
One run; the numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.stats import spearmanr

from riskloop.data.scenario import load_scenario
from riskloop.data.schema import infer_input_schema
from riskloop.evaluation.explain import Explainer, aggregate_to_features
from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean
from riskloop.pipelines.training import nodes
from riskloop.scorer import CODECS, codec_name

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [
    "sklearn_logistic_regression",
    "scratch_mlp",
    "scratch_hist_gradient_boosting",
    "lightgbm",
    "ft_transformer",
    "ft_transformer_cost_sensitive",
]


def _conf(name: str) -> dict:
    return yaml.safe_load((ROOT / "conf" / "base" / name).read_text())


def _served(pipeline):
    """(features, the estimator as serving loads it): stored and reloaded through the scorer's
    codec — LightGBM as its one-thread Booster, the FT-Transformer as its NumPy export."""
    features, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    codec = CODECS[codec_name(model)]
    with tempfile.TemporaryDirectory() as folder:
        meta = codec[0](model, Path(folder))
        return features, codec[1](meta, Path(folder))


def _latency_us(features, model, records: list[dict], repeats: int) -> float:
    """Median microseconds to score one record the serving way (records → matrix → model)."""
    times = []
    for record in records[:repeats]:
        started = time.perf_counter()
        model.predict_proba(features.transform_records([record]))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _batch_us(features, model, records: list[dict]) -> float:
    started = time.perf_counter()
    model.predict_proba(features.transform_records(records))
    return (time.perf_counter() - started) / len(records) * 1e6


def compare(scenario_file: str, smoke: bool = False) -> tuple[pd.DataFrame, dict]:
    scenario = load_scenario(ROOT / "conf/base/scenarios" / scenario_file)
    split = _conf("parameters_data_processing.yml")["split"]
    training = _conf("parameters_training.yml")
    applications, _ = validate_and_clean(pd.read_csv(ROOT / scenario.data.path), scenario)
    train, validation, _ = split_applications(applications, scenario, split)
    model = {"type": "select", "candidates": CANDIDATES}
    tuning = training["tuning"]
    if smoke:
        tuning = {**tuning, "trials": 1, "folds": 2, "n_bootstrap": 10}
        for name in ("ft_transformer", "ft_transformer_cost_sensitive"):
            training["candidates"][name] = {"d_token": 8, "n_blocks": 1, "n_heads": 2,
                                            "max_epochs": 2}  # fmt: skip
    tuned = nodes.tune_candidates(
        train, scenario, model, tuning, training["candidates"], training["search_spaces"]
    )
    fitted = nodes.fit_candidates(tuned, train, scenario)
    rows = nodes.compare_candidates(tuned, fitted, train, validation, scenario, tuning)
    schema = infer_input_schema(train, scenario)
    sample = validation[schema.names].head(1000)
    records = sample.astype(object).where(sample.notna(), None).to_dict("records")
    table = []
    for row in rows:
        name = row["name"]
        features, served = _served(fitted[name].pipeline)
        table.append(
            {
                "candidate": name,
                "cv_auc": float(np.mean(tuned[name].fold_aucs)),
                "validation_auc": row["validation_auc"],
                "validation_profit_per_1000": row.get("validation_profit"),
                "train_seconds": tuned[name].seconds + fitted[name].fit_seconds,
                "single_row_us": _latency_us(features, served, records, 300),
                "batch_us_per_row": _batch_us(features, served, records),
            }
        )
    return pd.DataFrame(table), {"fitted": fitted, "train": train, "validation": validation,
                                 "schema": schema, "scenario": scenario}  # fmt: skip


def attention_vs_shap(context: dict, name: str = "ft_transformer") -> dict:
    pipeline = context["fitted"][name].pipeline
    features, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    schema = context["schema"]
    matrix = features.transform(context["validation"][schema.names])
    train_matrix = features.transform(context["train"][schema.names])
    names = [*features.numeric, *features.categorical]
    attention = model.network_.cls_attention(matrix)["rollout"].mean(axis=0)
    explainer = Explainer(model.network_, train_matrix.mean(axis=0), train_matrix[:50])
    _, contributions = explainer.explain_matrix(matrix[:200])
    column_features = list(features.numeric)
    for column, levels in zip(features.categorical, features.categories_, strict=True):
        column_features += [column] * len(levels)
    shap = np.abs(aggregate_to_features(contributions, column_features, names)).mean(axis=0)
    rho = spearmanr(attention, shap).statistic
    ranks = pd.DataFrame(
        {
            "feature": names,
            "attention": attention,
            "mean_abs_shap": shap,
            "attention_rank": pd.Series(attention).rank(ascending=False).to_numpy(),
            "shap_rank": pd.Series(shap).rank(ascending=False).to_numpy(),
        }
    )
    ranks["rank_gap"] = (ranks["attention_rank"] - ranks["shap_rank"]).abs()
    return {"spearman": float(rho), "ranks": ranks.sort_values("shap_rank")}


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub table of ``frame`` (numbers to 4 significant digits)."""

    def cell(value: object) -> str:
        if isinstance(value, float | np.floating):
            return "–" if not np.isfinite(value) else f"{value:.4g}"
        return "–" if value is None else str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["credit", "churn"])
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budgets: check the script runs, not a result"
    )
    args = parser.parse_args()
    lines = []
    for scenario in args.scenarios:
        table, context = compare(f"{scenario}.yml", smoke=args.smoke)
        lines += [f"### {scenario}", "", markdown(table), ""]
        if scenario == "credit":
            agreement = attention_vs_shap(context)
            lines += [
                f"Attention vs SHAP (ft_transformer, {scenario}): Spearman ρ ="
                f" {agreement['spearman']:.3f}",
                "",
                markdown(agreement["ranks"]),
                "",
            ]
        print("\n".join(lines), flush=True)
    if args.out:
        args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
