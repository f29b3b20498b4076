"""Time riskloop.scratch estimators against their references, in one run.

For every case in ``benchmarks/scratch_cases/*.py`` (each module's
``cases()`` returns dicts with ``name``, ``ours``, ``reference``,
``reference_name``, ``fit_kwargs`` and optionally ``fast_row``, ``kind``,
``max_rows``) and for two data sets — the bundled credit data (one-hot,
median imputation, standardisation) and ``make_classification(n_samples=rows,
n_features=20, random_state=0)`` — it measures, for ours and the reference:

* fit time on the 80 % training split;
* single-row ``predict_proba`` latency (ours through its fast path when the
  case names one, and both through plain ``predict_proba``);
* batch ``predict_proba`` (or ``predict`` / ``transform``) time on the test split;
* test AUC;
* Numba compile cost: a tiny fit in a fresh process with an empty Numba cache
  ("cold"), then again in another fresh process reusing that cache ("warm",
  which must stay under 1 s).

Ratios are ours ÷ reference from the same run. The markdown table replaces
the section between ``<!-- scratch:start -->`` and ``<!-- scratch:end -->``
of docs/benchmarks.md (the rest of the file is kept).

Usage::

    python benchmarks/scratch.py                 # full size: 1,000,000 synthetic rows
    python benchmarks/scratch.py --rows 20000 --only logistic_regression
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASES_DIR = ROOT / "benchmarks" / "scratch_cases"
CREDIT_CSV = ROOT / "data" / "01_raw" / "credit_data.csv"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- scratch:start -->", "<!-- scratch:end -->"
ROW_SAMPLES_FAST = 2000
ROW_SAMPLES_PLAIN = 200
WARM_CACHE_LIMIT_S = 1.0


# --------------------------------------------------------------------- data
def credit_data() -> tuple[np.ndarray, np.ndarray]:
    """Credit data as numbers: one-hot categoricals, median imputation, standardised."""
    import pandas as pd

    frame = pd.read_csv(CREDIT_CSV)
    y = (frame.pop("Status") == "bad").to_numpy(dtype=np.int64)
    categorical = list(frame.select_dtypes(exclude="number").columns)
    numeric = frame.columns.difference(categorical)
    frame[numeric] = frame[numeric].fillna(frame[numeric].median())
    X = pd.get_dummies(frame, columns=categorical, dtype=float).to_numpy(np.float64)
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0), y


def synthetic_data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=rows, n_features=20, random_state=0)


def split(X: np.ndarray, y: np.ndarray, seed: int = 0):
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(0.8 * len(y))
    train, test = order[:cut], order[cut:]
    return X[train], y[train], X[test], y[test]


# -------------------------------------------------------------------- cases
def load_case_modules() -> dict[str, object]:
    modules = {}
    for path in sorted(CASES_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"scratch_cases_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[path.stem] = module
    return modules


def find_case(module, name: str) -> dict:
    return next(case for case in module.cases() if case["name"] == name)


def tiny_fit_seconds(case: dict) -> float:
    """Fit (and predict) ours on 200 rows; the first call in a process pays JIT/cache load."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=200, n_features=20, random_state=1)
    estimator = case["ours"]()
    start = time.perf_counter()
    estimator.fit(X, y, **case.get("fit_kwargs", {}))
    _batch_output(estimator, case, X)
    return time.perf_counter() - start


def tiny_fit_in_fresh_process(module_stem: str, name: str, cache_dir: str) -> dict:
    """Run the tiny fit in a new interpreter whose Numba cache lives in ``cache_dir``.

    Bytecode is enabled there (cached under ``cache_dir`` too) even if this
    shell sets PYTHONDONTWRITEBYTECODE: a deployed service has its .pyc files,
    and without them every process re-compiles Numba's own Python sources
    (about a second), which says nothing about our kernels.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(NUMBA_CACHE_DIR=cache_dir, PYTHONPYCACHEPREFIX=str(Path(cache_dir) / "pyc"))
    command = [sys.executable, str(Path(__file__).resolve()), "--_tiny-fit", module_stem, name]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"fit_s": result["fit_s"], "wall_s": wall}


# ------------------------------------------------------------------ timing
def _kind(case: dict) -> str:
    return case.get("kind", "classifier")


def _batch_output(estimator, case: dict, X: np.ndarray) -> np.ndarray:
    kind = _kind(case)
    if kind == "clusterer":
        return estimator.predict(X)
    if kind == "transformer":
        return estimator.transform(X)
    return estimator.predict_proba(X)


def _per_row_us(fn, rows: np.ndarray) -> float:
    start = time.perf_counter()
    for row in rows:
        fn(row)
    return (time.perf_counter() - start) / len(rows) * 1e6


def measure(case: dict, data: tuple, ours: bool) -> dict:
    from sklearn.metrics import roc_auc_score

    X_train, y_train, X_test, y_test = data
    estimator = case["ours"]() if ours else case["reference"]()
    start = time.perf_counter()
    estimator.fit(X_train, y_train, **case.get("fit_kwargs", {}))
    out = {"fit_s": time.perf_counter() - start}
    start = time.perf_counter()
    batch = _batch_output(estimator, case, X_test)
    out["batch_s"] = time.perf_counter() - start
    if _kind(case) != "classifier":
        return out
    out["auc"] = float(roc_auc_score(y_test, batch[:, 1]))
    rows = np.ascontiguousarray(X_test[:ROW_SAMPLES_PLAIN])
    out["row_plain_us"] = _per_row_us(lambda r: estimator.predict_proba(r.reshape(1, -1)), rows)
    if ours and case.get("fast_row"):
        fast = getattr(estimator, case["fast_row"])
        out["row_fast_us"] = _per_row_us(fast, np.ascontiguousarray(X_test[:ROW_SAMPLES_FAST]))
    return out


# ----------------------------------------------------------------- report
def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit == "us":
        return f"{value:.1f}"
    if unit == "x":
        return f"{value:.2f}×"
    return f"{value:.4f}"


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def render(results: list[dict], rows: int) -> str:
    import sklearn

    lines = [
        START,
        "## Scratch estimators vs reference",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; synthetic data = make_classification"
        f"(n_samples={rows:,}, n_features=20, random_state=0), 80/20 split "
        "(cases with `max_rows` use fewer). Ratios are ours ÷ reference, same run "
        "(below 1 = ours faster). Single-row latency is per call of "
        "`predict_proba(x.reshape(1, -1))`, and of the case's fast path where it has one. "
        "JIT cold = tiny fit (200 rows, fit + batch predict) in a fresh process with an "
        "empty Numba cache (compiles); JIT warm = the same in a second fresh process "
        f"reusing that cache (must be < {WARM_CACHE_LIMIT_S:g} s; includes Numba's one-off "
        "target initialisation).",
        "",
        "| case | data | train rows | fit ours s | fit ref s | fit ratio | batch ours s "
        "| batch ref s | batch ratio | row fast µs | row ours µs | row ref µs | AUC ours "
        "| AUC ref | JIT cold s | JIT warm s | reference |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        o, f = r["ours"], r["ref"]
        lines.append(
            "| "
            + " | ".join(
                [
                    r["name"],
                    r["data"],
                    f"{r['train_rows']:,}",
                    _fmt(o["fit_s"], "s"),
                    _fmt(f["fit_s"], "s"),
                    _fmt(_ratio(o["fit_s"], f["fit_s"]), "x"),
                    _fmt(o["batch_s"], "s"),
                    _fmt(f["batch_s"], "s"),
                    _fmt(_ratio(o["batch_s"], f["batch_s"]), "x"),
                    _fmt(o.get("row_fast_us"), "us"),
                    _fmt(o.get("row_plain_us"), "us"),
                    _fmt(f.get("row_plain_us"), "us"),
                    _fmt(o.get("auc")),
                    _fmt(f.get("auc")),
                    _fmt(r["jit_cold_s"], "s"),
                    _fmt(r["jit_warm_s"], "s")
                    + (" ⚠" if r["jit_warm_s"] >= WARM_CACHE_LIMIT_S else ""),
                    r["reference_name"],
                ]
            )
            + " |"
        )
    lines.append(END)
    return "\n".join(lines)


def write_section(section: str, path: Path = DOC) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before = text[: text.index(START)]
        after = text[text.index(END) + len(END) :]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic rows")
    parser.add_argument("--only", action="append", help="case name (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="print, don't edit docs")
    parser.add_argument("--_tiny-fit", nargs=2, metavar=("MODULE", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._tiny_fit:
        module = load_case_modules()[args._tiny_fit[0]]
        seconds = tiny_fit_seconds(find_case(module, args._tiny_fit[1]))
        print(json.dumps({"fit_s": seconds}))
        return

    modules = load_case_modules()
    selected = [
        (stem, case)
        for stem, module in modules.items()
        for case in module.cases()
        if not args.only or case["name"] in args.only
    ]
    if not selected:
        sys.exit(
            f"no case matches {args.only}; known: "
            f"{[c['name'] for m in modules.values() for c in m.cases()]}"
        )
    datasets = {"credit": split(*credit_data())}
    synthetic = synthetic_data(args.rows)

    results = []
    for stem, case in selected:
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
            cold = tiny_fit_in_fresh_process(stem, case["name"], cache_dir)
            warm = tiny_fit_in_fresh_process(stem, case["name"], cache_dir)
        tiny_fit_seconds(case)  # this process pays its JIT/cache load before timing
        limit = case.get("max_rows", args.rows)
        runs = dict(datasets)
        n = min(limit, args.rows)
        runs[f"synthetic {n:,}"] = split(synthetic[0][:n], synthetic[1][:n])
        for data_name, data in runs.items():
            print(f"{case['name']} on {data_name} ...", flush=True)
            results.append(
                {
                    "name": case["name"],
                    "data": data_name,
                    "train_rows": len(data[1]),
                    "ours": measure(case, data, ours=True),
                    "ref": measure(case, data, ours=False),
                    "jit_cold_s": cold["fit_s"],
                    "jit_warm_s": warm["fit_s"],
                    "reference_name": case["reference_name"],
                }
            )
    section = render(results, args.rows)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
