"""Mutation score per module from mutmut's results in ``mutants/`` (run by ``make mutation``).

score = killed / (killed + survived + no tests + suspicious): a mutant no test runs counts as a
survivor, because nothing would notice that change either. Timeouts and mutants a type check
rejects count as killed (mutmut's own convention); mutants not yet checked are listed apart.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
UNDETECTED = {"survived", "no tests", "suspicious"}


def module_scores(mutants_dir: Path) -> dict[str, Counter[str]]:
    """Count of each mutmut status per mutated module, keyed by its path under ``src/``.

    Parameters
    ----------
    mutants_dir : Path
        mutmut's working folder (``mutants/``), holding one ``<file>.py.meta`` per mutated file.
    """
    scores: dict[str, Counter[str]] = {}
    for meta in sorted(mutants_dir.glob("src/**/*.py.meta")):
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        if exit_codes:
            module = str(meta.relative_to(mutants_dir / "src")).removesuffix(".meta")
            scores[module] = Counter(status_by_exit_code[code] for code in exit_codes.values())
    return scores


def main() -> int:
    """Print one line per module and the total; exit 1 when nothing has been checked yet."""
    scores = module_scores(Path("mutants"))
    total: Counter[str] = Counter()
    print(f"{'module':45} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>7}")
    for module, counts in scores.items():
        total += counts
        print(_line(module, counts))
    print(_line("all", total))
    return 0 if sum(total[s] for s in DETECTED | UNDETECTED) else 1


def _line(name: str, counts: Counter[str]) -> str:
    detected = sum(counts[s] for s in DETECTED)
    checked = detected + sum(counts[s] for s in UNDETECTED)
    score = f"{100 * detected / checked:.1f}%" if checked else "-"
    unchecked = counts["not checked"]
    note = f"  ({unchecked} not checked)" if unchecked else ""
    survived = counts["survived"] + counts["suspicious"]
    return f"{name:45} {detected:>7} {survived:>9} {counts['no tests']:>9} {score:>7}{note}"


if __name__ == "__main__":
    sys.exit(main())
